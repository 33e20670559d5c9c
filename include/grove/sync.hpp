// grove — the sync sublibrary (grove-sync): events, results, locks, queues, pools.
#pragma once

#include <grove/sync/async_result.hpp>
#include <grove/sync/channel.hpp>
#include <grove/sync/event.hpp>
#include <grove/sync/group.hpp>
#include <grove/sync/joinable_queue.hpp>
#include <grove/sync/lock.hpp>
#include <grove/sync/pool.hpp>
#include <grove/sync/queue.hpp>
#include <grove/sync/semaphore.hpp>
