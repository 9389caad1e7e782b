// Certificate pins: named sets of root certificates that are, for the targets pinned to them, the
// only acceptable trust anchors (as the MDE Client Analyzer pins its URLs).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace urlprobe::net {

struct PinRoot {
  std::string der;        // the certificate, DER
  std::string subject;    // e.g. "CN=Microsoft Root Certificate Authority 2011,O=Microsoft ..."
  std::string not_after;  // RFC 3339, UTC
  bool expired = false;   // not_after had passed when the certificate was read
  std::string sha256;     // of der, lower-case hex without colons
};

struct Pin {
  std::string name;    // e.g. "microsoft-2011"
  std::string origin;  // "embedded", or the file it was read from
  std::vector<PinRoot> roots;
  bool all_expired() const;  // true when no root is still valid (or there is none)
};

// The pins built into the binary, in this order: microsoft-2011, digicert-global-root-g2.
std::vector<Pin> builtin_pins();

// [a-z0-9][a-z0-9._-]{0,63}, except "system", which means "not pinned".
bool valid_pin_name(std::string_view name);

// --pin NAME=FILE: every certificate of a PEM file (at least one; any certificate, not only CA
// ones). Throws std::runtime_error: for an invalid name, or, starting with `path`, for a file
// that cannot be opened, is over 1 MiB, holds no PEM certificate, or one that does not decode.
Pin read_pin_file(std::string name, const std::string& path);

// Adds `pin`, or replaces the pin of the same name where it stands.
void set_pin(std::vector<Pin>& pins, Pin pin);
const Pin* find_pin(const std::vector<Pin>& pins, std::string_view name);

}  // namespace urlprobe::net
