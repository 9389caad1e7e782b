// Microsoft's offline Azure service tags ("ServiceTags_Public_*.json"): which tags an address
// falls in. Firewall teams allow Defender's traffic by these tags' prefixes; an address in none of
// the right ones is one a static-IP rule would miss. Pure: text in, table or located error out.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace urlprobe::net {

// Where the text is wrong, 1-based; column counts bytes.
struct ServiceTagsError {
  int line = 0;
  int column = 0;
  std::string message;
};

class ServiceTags {
 public:
  // The JSON document (a UTF-8 BOM is allowed): an object whose "values" array holds objects
  // with a string "name" and "properties": {"addressPrefixes": ["CIDR", ...]}; other members
  // ("changeNumber", "cloud", "id", "platform", ...) are read over. Prefixes with host bits set
  // are taken as their network. nullopt with `error` at the first bad byte or bad prefix.
  static std::optional<ServiceTags> parse(std::string_view text, ServiceTagsError& error);

  // The names of the tags whose prefixes hold `address`, sorted, each once; an IPv4-mapped IPv6
  // address is looked up as IPv4. Two binary searches, whatever the number of prefixes.
  std::vector<std::string> tags_of(const boost::asio::ip::address& address) const;

  const std::string& cloud() const { return cloud_; }
  std::size_t tag_count() const { return names_.size(); }
  std::size_t prefix_count() const { return prefixes_; }

 private:
  using V6 = unsigned __int128;
  // A run of addresses from `first` up to the next segment's first, all in the tags of `set`.
  template <typename Key>
  struct Segment {
    Key first;
    std::uint32_t set;
  };
  template <typename Key>
  struct Range {
    Key first, last;
    std::uint32_t tag;
  };
  template <typename Key>
  std::vector<Segment<Key>> segments(std::vector<Range<Key>> ranges);
  std::vector<std::string> names_of(std::uint32_t set) const;

  std::string cloud_;
  std::vector<std::string> names_;                // by the tag's position in "values"
  std::vector<std::vector<std::uint32_t>> sets_;  // distinct sets of tags; sets_[0] is empty
  std::vector<Segment<std::uint32_t>> v4_;
  std::vector<Segment<V6>> v6_;
  std::size_t prefixes_ = 0;
};

}  // namespace urlprobe::net
