// sheet::load_sheet_file end to end (format detection aside) without touching the disk: the
// input goes into a memfd read back through /proc/self/fd. Byte 0 picks the format (csv, tsv,
// txt, xlsx) and a few SheetOptions filters; the rest is the file. This reaches the table reader
// (header detection, cell splitting, filters) that parse_csv and read_xlsx alone do not.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sheet/sheet.hpp"

using namespace urlprobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const int fd = memfd_create("urlprobe-fuzz-sheet", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0) std::abort();
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data + 1, size - 1, 0) != static_cast<ssize_t>(size - 1))
    std::abort();

  static const char* const kFormats[] = {"csv", "tsv", "txt", "xlsx"};
  sheet::SheetOptions options;
  options.format = kFormats[data[0] & 3];
  if (data[0] & 0x04) options.workspace_ids = {"12345678-1234-1234-1234-123456789abc"};
  if (data[0] & 0x08) options.geo = {"US", "EU"};
  if (data[0] & 0x10) options.os = {"linux"};
  if (data[0] & 0x20) options.required_only = true;
  // Wildcard rows expanded to given hosts: by pattern, and by a TestCloudConnection heading's host.
  if (data[0] & 0x40)
    options.wildcard_hosts = {{"*.blob.core.windows.net",
                               "a.blob.core.windows.net",
                               sheet::HostSource::wildcard_host,
                               {}},
                              {"", "x.dm.microsoft.com", sheet::HostSource::testcloudconnection,
                               "12345678-1234-1234-1234-123456789abc"}};
  sheet::TargetList list;
  try {
    sheet::load_sheet_file(path, options, list);
    sheet::deduplicate(list);
  } catch (const sheet::SheetError&) {
  }
  return 0;
}
