// Double-checked lazy initialization of a shared object, in two versions.
//
// Buggy: Get() creates the widget and publishes its pointer, then loads the
// widget's settings into it ("constructed in place after publication"). A
// thread taking the lock-free fast path in between sees a non-null pointer
// and uses a half-initialized widget. No weak memory is needed: the bug is in
// program order, a preemption between the store and the load is enough.
//
// Fixed: the widget is fully loaded first and published last, so whoever
// sees the pointer sees a complete object; the lock still makes the loading
// happen once.
#ifndef EXAMPLES_LAZY_INIT_H_
#define EXAMPLES_LAZY_INIT_H_

#include <functional>
#include <memory>
#include <mutex>

#include "lockstep/atomic.h"
#include "lockstep/mutex.h"

namespace examples {

// The expensive shared object.
struct Widget {
  int size = 0;  // 0 until loaded
};

class BuggyLazyWidget {
 public:
  // `load_size` is the expensive part of initialization (reading a config,
  // asking a backend); it runs once.
  explicit BuggyLazyWidget(std::function<int()> load_size) : load_size_(std::move(load_size)) {}

  Widget& Get() {
    if (Widget* widget = instance_.load()) return *widget;  // fast path, no lock
    std::lock_guard<lockstep::Mutex> lock(mutex_);
    if (Widget* widget = instance_.load()) return *widget;
    owned_ = std::make_unique<Widget>();
    instance_.store(owned_.get());  // published too early...
    owned_->size = load_size_();    // ...and initialized after
    return *owned_;
  }

 private:
  std::function<int()> load_size_;
  lockstep::Mutex mutex_{"init"};
  lockstep::Atomic<Widget*> instance_{nullptr, "instance"};
  std::unique_ptr<Widget> owned_;
};

class FixedLazyWidget {
 public:
  // `load_size` is the expensive part of initialization (reading a config,
  // asking a backend); it runs once.
  explicit FixedLazyWidget(std::function<int()> load_size) : load_size_(std::move(load_size)) {}

  Widget& Get() {
    if (Widget* widget = instance_.load()) return *widget;  // fast path, no lock
    std::lock_guard<lockstep::Mutex> lock(mutex_);
    if (Widget* widget = instance_.load()) return *widget;
    owned_ = std::make_unique<Widget>();
    owned_->size = load_size_();    // initialize fully...
    instance_.store(owned_.get());  // ...then publish
    return *owned_;
  }

 private:
  std::function<int()> load_size_;
  lockstep::Mutex mutex_{"init"};
  lockstep::Atomic<Widget*> instance_{nullptr, "instance"};
  std::unique_ptr<Widget> owned_;
};

}  // namespace examples

#endif  // EXAMPLES_LAZY_INIT_H_
