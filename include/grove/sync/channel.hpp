// grove — Channel: a rendezvous queue of size zero (gevent.queue.Channel).
#pragma once

#include <grove/sync/queue.hpp>

namespace grove {

/// A queue that holds nothing: put() waits until a get() takes the item from
/// its hands, and get() waits for a put(). FIFO on both sides. Same members,
/// errors and kill-safety as Queue: a getter killed after an item was handed
/// to it passes it to the next getter, or leaves it held by the Channel for
/// the next get() (the one case where qsize() is not 0). A non-blocking put()
/// with no getter waiting throws QueueFull.
template <class T>
class Channel : public BasicQueue<T, detail::FifoStore<T>> {
    using Base = BasicQueue<T, detail::FifoStore<T>>;

public:
    Channel() : Base(typename Base::Rendezvous{}) {}
};

}  // namespace grove
