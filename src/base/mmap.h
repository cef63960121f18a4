// Memory mappings. MappedFile: a read-only mapping of a whole file.
// AnonymousMemory: a read-write anonymous mapping aligned for huge pages.
//
// Model weights stay in file mappings unless the loader repacks them into
// anonymous memory (model/weight_repack.h). Each mapping lives as long as
// its object; neither is copyable. A MappedFile is immutable after Open, so
// any number of threads may read it at once; AnonymousMemory's contents are
// the owner's to synchronise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace pagoda {

class MappedFile {
 public:
  static StatusOr<std::shared_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

class AnonymousMemory {
 public:
  // At least `bytes` of zeroed memory starting on a 2 MiB boundary, with
  // transparent huge pages requested for it: weights there are streamed end
  // to end every decode step, and 4 KiB pages would cost a TLB miss every
  // 4 KiB.
  static StatusOr<std::shared_ptr<AnonymousMemory>> Allocate(size_t bytes);
  ~AnonymousMemory();
  AnonymousMemory(const AnonymousMemory&) = delete;
  AnonymousMemory& operator=(const AnonymousMemory&) = delete;

  uint8_t* data() const { return aligned_; }

 private:
  AnonymousMemory(void* base, size_t size) : base_(base), size_(size) {}
  void* base_;
  size_t size_;
  uint8_t* aligned_ = nullptr;
};

}  // namespace pagoda
