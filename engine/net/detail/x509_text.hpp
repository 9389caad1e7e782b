// How the net stage prints certificate names and times (tls.cpp, pins.cpp).
#pragma once

#include <openssl/x509.h>

#include <string>

namespace urlprobe::net {

std::string name_text(const X509_NAME* name);  // RFC 2253 style, e.g. "CN=..,O=.."
std::string time_text(const ASN1_TIME* t);     // RFC 3339, UTC

}  // namespace urlprobe::net
