// Portable, seeded pseudo-random numbers for every decision Lockstep makes.
//
// Determinism across platforms is a product guarantee (same seed + same
// options = same schedule on any standard library), so nothing here uses
// <random> distributions or absl::BitGen, whose outputs are unspecified.
// The generator is xoshiro256** (Blackman & Vigna), seeded through SplitMix64;
// bounded draws use Lemire's multiply-and-reject method, defined here so the
// exact sequence of draws is part of our own code.
#ifndef LOCKSTEP_INTERNAL_PRNG_H_
#define LOCKSTEP_INTERNAL_PRNG_H_

#include <cstdint>

namespace lockstep::internal {

// The SplitMix64 output function: a bijective 64-bit mixer.
constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The seed of iteration `iteration` (0-based) of a run with `base_seed`:
//   Mix64(base_seed + (iteration + 1) * 0x9E3779B97F4A7C15)
// i.e. element iteration+1 of the SplitMix64 sequence started at base_seed.
// Any iteration can be re-run alone from (base_seed, iteration).
constexpr uint64_t IterationSeed(uint64_t base_seed, uint64_t iteration) {
  return Mix64(base_seed + (iteration + 1) * 0x9E3779B97F4A7C15ull);
}

class Prng {
 public:
  explicit constexpr Prng(uint64_t seed) { Reseed(seed); }

  // Restarts the stream; the state is filled from SplitMix64(seed).
  constexpr void Reseed(uint64_t seed) {
    for (uint64_t& word : s_) {
      seed += 0x9E3779B97F4A7C15ull;
      word = Mix64(seed);
    }
  }

  // The next 64 uniformly distributed bits.
  constexpr uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, bound); bound must be > 0. Lemire's nearly-divisionless
  // method on 32-bit lanes: unbiased and cheap.
  constexpr uint32_t Below(uint32_t bound) {
    uint64_t m = static_cast<uint64_t>(static_cast<uint32_t>(Next() >> 32)) * bound;
    auto low = static_cast<uint32_t>(m);
    if (low < bound) {
      const uint32_t threshold = static_cast<uint32_t>(-bound) % bound;
      while (low < threshold) {
        m = static_cast<uint64_t>(static_cast<uint32_t>(Next() >> 32)) * bound;
        low = static_cast<uint32_t>(m);
      }
    }
    return static_cast<uint32_t>(m >> 32);
  }

  // True with probability numerator/denominator (0 < denominator).
  constexpr bool Chance(uint32_t numerator, uint32_t denominator) {
    return Below(denominator) < numerator;
  }

 private:
  static constexpr uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t s_[4] = {};
};

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_PRNG_H_
