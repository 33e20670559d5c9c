// grove internal — grove::local's per-greenlet tables and per-local registries.
//
// Two views of the same values, so that either side may die first:
//  - each greenlet with values has a LocalTable (GreenletRecord::locals): its
//    values keyed by the registry of the local that made them;
//  - each local has a LocalRegistry listing the entries made by it, in any
//    greenlet of any thread (hence its mutex).
// Whoever takes an entry's value under the registry's mutex (the greenlet's
// death or the local's destruction) destroys it; the other finds null. The
// registry is reference-counted by the local and by every entry still in a
// table, so an entry can always lock it, and its address — the table key —
// is never reused while an entry may still be looked up under it.
#include "local_storage.hpp"

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <grove/local.hpp>

#include "runtime.hpp"

namespace grove::detail {

namespace {

struct LocalEntry {
    LocalRegistry* reg = nullptr;
    void* value = nullptr;  // null once destroyed (by either side); guarded by reg->mutex
    void (*destroy)(void*) noexcept = nullptr;
    LocalEntry* prev = nullptr;  // reg's list of entries that still hold a value
    LocalEntry* next = nullptr;
};

// Node-based: entries keep their address while the table grows.
using LocalTable = std::unordered_map<const LocalRegistry*, LocalEntry>;

}  // namespace

struct LocalRegistry {
    std::mutex mutex;
    LocalEntry* head = nullptr;        // entries with a live value (guarded by mutex)
    std::atomic<std::size_t> refs{1};  // the local + each entry in a table

    void unlink(LocalEntry& e) noexcept {
        (e.prev ? e.prev->next : head) = e.next;
        if (e.next) e.next->prev = e.prev;
        e.prev = e.next = nullptr;
    }
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
};

namespace {

void*& current_slot() { return Runtime::record(*HubImpl::get().current_greenlet()).locals; }

/// Takes `e`'s value away from its registry; the caller destroys it.
void* take(LocalEntry& e) noexcept {
    std::lock_guard<std::mutex> lock(e.reg->mutex);
    void* value = std::exchange(e.value, nullptr);
    if (value) e.reg->unlink(e);
    return value;
}

}  // namespace

LocalRegistry* local_register() { return new LocalRegistry; }

void local_unregister(LocalRegistry* reg) noexcept {
    std::vector<std::pair<void*, void (*)(void*) noexcept>> doomed;
    {
        std::lock_guard<std::mutex> lock(reg->mutex);
        for (LocalEntry* e = reg->head; e; e = e->next) {
            try {
                doomed.emplace_back(e->value, e->destroy);
            } catch (...) {  // out of memory: destroy it right here, under the lock
                e->destroy(e->value);
            }
            e->value = nullptr;
        }
        for (LocalEntry* e = reg->head; e;) reg->unlink(*std::exchange(e, e->next));
    }
    for (auto& [value, destroy] : doomed) destroy(value);
    reg->release();
}

void* local_find(const LocalRegistry* reg) {
    auto* table = static_cast<LocalTable*>(current_slot());
    if (!table) return nullptr;
    auto it = table->find(reg);
    return it == table->end() ? nullptr : it->second.value;
}

void* local_insert(LocalRegistry* reg, void* value, void (*destroy)(void*) noexcept) {
    void*& slot = current_slot();
    LocalEntry* e;
    try {
        if (!slot) slot = new LocalTable;
        e = &(*static_cast<LocalTable*>(slot))[reg];
    } catch (...) {
        destroy(value);
        throw;
    }
    // Our own value can only be missing here (get() looked first), but an
    // entry left by a value the local already destroyed cannot be: the key
    // stays unique while the entry holds its registry.
    e->reg = reg;
    e->destroy = destroy;
    reg->refs.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(reg->mutex);
    e->value = value;
    e->next = reg->head;
    if (reg->head) reg->head->prev = e;
    reg->head = e;
    return value;
}

void destroy_locals(GreenletBase& g) noexcept {
    // A destructor may touch a local again: that value goes into a fresh
    // table in the same slot, destroyed by the next round.
    while (auto* table = static_cast<LocalTable*>(std::exchange(Runtime::record(g).locals, nullptr))) {
        for (auto& [key, e] : *table) {
            if (void* value = take(e)) e.destroy(value);
            e.reg->release();
        }
        delete table;
    }
}

}  // namespace grove::detail
