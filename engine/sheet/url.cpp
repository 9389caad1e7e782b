#include "sheet/url.hpp"

#include <fmt/format.h>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <string>

#include "base/text.hpp"
#include "sheet/reader.hpp"

namespace urlprobe::sheet {

std::variant<Target, UrlError> parse_target_url(std::string_view text) {
  // Boost.URL says what is wrong but not where; the usual culprits are located first so the
  // user gets a column that points at them.
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c <= 0x20 || c >= 0x7f)
      return UrlError{static_cast<int>(i) + 1,
                      c == ' ' ? "space in URL (percent-encode it as %20)"
                               : fmt::format("unexpected character 0x{:02x} in URL", c)};
  }
  if (text.empty()) return UrlError{1, "empty URL"};

  std::string absolute;
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    absolute = "https://" + std::string(text);  // a bare host, as the vendor sheets write them
  } else if (base::starts_with_icase(text, "https://") ||
             base::starts_with_icase(text, "http://")) {
    absolute = std::string(text);
  } else {
    return UrlError{1, fmt::format("unsupported scheme '{}' (expected http or https)",
                                   text.substr(0, scheme_end))};
  }
  const int offset = scheme_end == std::string_view::npos ? -8 : 0;  // columns in the user's text

  auto parsed = boost::urls::parse_uri(absolute);
  if (!parsed) return UrlError{1, fmt::format("not a valid URL: {}", parsed.error().message())};
  const boost::urls::url_view& u = *parsed;

  Target t;
  t.scheme = base::starts_with_icase(absolute, "https://") ? kHttps : kHttp;
  if (u.has_userinfo()) {
    return UrlError{static_cast<int>(absolute.find("://")) + 4 + offset,
                    "credentials in a target URL are not supported"};
  }
  t.host = u.host_type() == boost::urls::host_type::ipv6 ? std::string(u.host_address())
                                                         : std::string(u.host());
  if (t.host.empty()) return UrlError{1, "URL has no host"};
  for (auto& c : t.host) c = base::lower(c);
  if (t.host.find('%') != std::string::npos)
    return UrlError{1, "percent-encoded host names are not supported"};
  // A name whose last label is a number ("12345", "10.1.2") is no DNS name, and browsers read it
  // as an IPv4 address in another notation: a number cell pasted into a URL column, not a host.
  if (u.host_type() == boost::urls::host_type::name) {
    const std::string_view last = std::string_view(t.host).substr(t.host.rfind('.') + 1);
    if (all_digits(last))
      return UrlError{
          static_cast<int>(absolute.find("://")) + 4 + offset,
          fmt::format("host '{}' is a number, not a name or a dotted IPv4 address", t.host)};
  }

  if (u.has_port()) {
    // The column of the first port digit, in the user's text.
    const auto port_pos =
        static_cast<int>(absolute.find("://") + 3 + u.encoded_host().size()) + 2 + offset;
    const auto number = u.port_number();
    if (u.port().empty() || number == 0 || std::to_string(number) != std::string(u.port()))
      return UrlError{port_pos, fmt::format("port '{}' is not a number from 1 to 65535",
                                            std::string(u.port()))};
    t.port = number;
  } else {
    t.port = t.scheme == "https" ? 443 : 80;
  }

  t.path = std::string(u.encoded_path());
  if (t.path.empty()) t.path = "/";
  if (u.has_query()) t.path += "?" + std::string(u.encoded_query());

  const bool default_port =
      (t.scheme == "https" && t.port == 443) || (t.scheme == "http" && t.port == 80);
  const bool v6 = u.host_type() == boost::urls::host_type::ipv6;
  t.url = fmt::format("{}://{}{}{}{}", t.scheme, v6 ? "[" + t.host + "]" : t.host,
                      default_port ? "" : ":", default_port ? "" : std::to_string(t.port), t.path);
  return t;
}

}  // namespace urlprobe::sheet
