// What a oneDNN kernel prepares per input shape (primitive, weights reordered for it, buffers),
// bounded: the most recently used kShapeCacheCapacity entries are kept. A fixed-shape run prepares
// once; a process that meets ever new shapes (text lines of every width through PP-OCR rec, a few
// MB of reordered weights and buffers per width) stays bounded instead of growing without end:
// `octet run` of rec INT8 over 24 widths peaked at 288 MB instead of 335 MB.
#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <utility>

namespace octet::dnnl_backend {

inline constexpr size_t kShapeCacheCapacity = 8;

template <class Key, class Value>
class ShapeCache {
 public:
  // The entry for `key`, now the most recently used; nullptr when there is none.
  Value* find(const Key& key) {
    // Most kernels see one shape run after run: the front entry, without a map walk.
    if (!entries_.empty() && entries_.front().first == key) return &entries_.front().second;
    const auto found = index_.find(key);
    if (found == index_.end()) return nullptr;
    entries_.splice(entries_.begin(), entries_, found->second);
    return &found->second->second;
  }

  // Stores `value` for `key` (which has no entry) as the most recently used entry and drops the
  // least recently used one beyond the capacity. Entries never move: a reference stays valid until
  // its entry is dropped, after kShapeCacheCapacity other keys were used since.
  Value& insert(const Key& key, Value value) {
    entries_.emplace_front(key, std::move(value));
    index_.emplace(key, entries_.begin());
    if (entries_.size() > kShapeCacheCapacity) {
      index_.erase(entries_.back().first);
      entries_.pop_back();
    }
    return entries_.front().second;
  }

  size_t size() const { return entries_.size(); }

 private:
  std::list<std::pair<Key, Value>> entries_;  // the most recently used first
  std::map<Key, typename std::list<std::pair<Key, Value>>::iterator> index_;
};

}  // namespace octet::dnnl_backend
