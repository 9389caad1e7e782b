#include "diagnostics.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "report/writer.hpp"

namespace urlprobe::cli {

void say(std::string_view message) {
  const auto text = report::terminal_text(fmt::format("urlprobe: {}\n", message));
  std::fwrite(text.data(), 1, text.size(), stderr);
}

void say(const sheet::InputError& error) {
  const auto text = report::terminal_text(sheet::format_input_error(error) + "\n");
  std::fwrite(text.data(), 1, text.size(), stderr);
}

bool written(std::FILE* file, std::string_view name) {
  errno = 0;
  if (std::fflush(file) == 0 && !std::ferror(file)) return true;
  if (errno == EPIPE) return true;
  say(fmt::format("{}: write failed: {}", name, std::strerror(errno ? errno : EIO)));
  return false;
}

}  // namespace urlprobe::cli
