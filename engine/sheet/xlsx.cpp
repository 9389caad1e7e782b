// .xlsx reading: minizip over the bytes in memory, pugixml over each part, limits checked while
// inflating so that a zip bomb ends in an XlsxError rather than in an allocation failure.
#include "sheet/xlsx.hpp"

#include "base/text.hpp"
#include "sheet/reader.hpp"

#include <fmt/format.h>
#include <minizip/unzip.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <pugixml.hpp>

namespace urlprobe::sheet {
namespace {

constexpr int kMaxRow = 1'048'576;            // Excel's grid
constexpr int kMaxColumn = 16'384;            // XFD
constexpr std::size_t kMaxEntries = 100'000;  // zip entries; a workbook has a few dozen
constexpr std::size_t kChunk = 64u << 10;

std::string size_text(std::size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

// Zip item names compared as OPC part names: case-insensitive, '/'-separated, no leading '/'.
std::string part_key(std::string_view name) {
  std::string key;
  key.reserve(name.size());
  for (char c : name) key.push_back(c == '\\' ? '/' : base::lower(c));
  while (!key.empty() && key.front() == '/') key.erase(key.begin());
  return key;
}

// ---- minizip over a byte buffer ------------------------------------------------------------

struct MemStream {
  std::string_view data;
  std::uint64_t pos = 0;
};

voidpf mem_open(voidpf opaque, const void* /*name*/, int mode) {
  if ((mode & ZLIB_FILEFUNC_MODE_READWRITEFILTER) != ZLIB_FILEFUNC_MODE_READ) return nullptr;
  auto* stream = static_cast<MemStream*>(opaque);
  stream->pos = 0;
  return stream;
}

uLong mem_read(voidpf /*opaque*/, voidpf handle, void* buf, uLong size) {
  auto* stream = static_cast<MemStream*>(handle);
  if (stream->pos >= stream->data.size()) return 0;
  const auto n = static_cast<uLong>(
      std::min<std::uint64_t>(size, stream->data.size() - static_cast<std::size_t>(stream->pos)));
  std::memcpy(buf, stream->data.data() + stream->pos, n);
  stream->pos += n;
  return n;
}

uLong mem_write(voidpf, voidpf, const void*, uLong) {
  return 0;
}

ZPOS64_T mem_tell(voidpf /*opaque*/, voidpf handle) {
  return static_cast<MemStream*>(handle)->pos;
}

long mem_seek(voidpf /*opaque*/, voidpf handle, ZPOS64_T offset, int origin) {
  auto* stream = static_cast<MemStream*>(handle);
  const std::uint64_t size = stream->data.size();
  std::uint64_t base = 0;
  switch (origin) {
    case ZLIB_FILEFUNC_SEEK_SET:
      base = 0;
      break;
    case ZLIB_FILEFUNC_SEEK_CUR:
      base = stream->pos;
      break;
    case ZLIB_FILEFUNC_SEEK_END:
      base = size;
      break;
    default:
      return -1;
  }
  // minizip passes offsets as unsigned; a backwards seek from the end wraps around.
  const std::uint64_t target = base + offset;
  if (target > size) return -1;
  stream->pos = target;
  return 0;
}

int mem_close(voidpf, voidpf) {
  return 0;
}
int mem_error(voidpf, voidpf) {
  return 0;
}

class Zip {
 public:
  Zip(std::string_view bytes, const XlsxLimits& limits) : limits_(limits) {
    if (bytes.size() > limits.max_compressed)
      throw XlsxError(fmt::format("workbook is {} bytes, over the {} limit", bytes.size(),
                                  size_text(limits.max_compressed)));
    if (bytes.starts_with("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"))
      throw XlsxError(
          "not a zip file: an OLE2 compound file (a password-protected workbook or a legacy "
          ".xls?)");
    if (!bytes.starts_with("PK")) throw XlsxError("not a zip file");
    stream_.data = bytes;
    zlib_filefunc64_def funcs{};
    funcs.zopen64_file = mem_open;
    funcs.zread_file = mem_read;
    funcs.zwrite_file = mem_write;
    funcs.ztell64_file = mem_tell;
    funcs.zseek64_file = mem_seek;
    funcs.zclose_file = mem_close;
    funcs.zerror_file = mem_error;
    funcs.opaque = &stream_;
    zip_.zip = unzOpen2_64("memory", &funcs);
    // minizip cannot open an archive whose end record is at offset 0 (an empty zip).
    if (!zip_ && bytes.size() >= 22 && bytes.starts_with("PK\x05\x06") &&
        bytes.substr(8, 4) == std::string_view("\0\0\0\0", 4))
      throw XlsxError("not an xlsx workbook: no xl/workbook.xml (an empty zip file)");
    if (!zip_)
      throw XlsxError("corrupt zip file: its central directory cannot be read (truncated?)");
    index();
  }
  Zip(const Zip&) = delete;
  Zip& operator=(const Zip&) = delete;

  // The zip item name for an OPC part name, if the zip holds it.
  std::optional<std::string> find(std::string_view part) const {
    auto it = entries_.find(part_key(part));
    if (it == entries_.end()) return std::nullopt;
    return it->second.name;
  }

  // The whole uncompressed part, read in chunks against the limits.
  std::string read(std::string_view part) {
    auto it = entries_.find(part_key(part));
    if (it == entries_.end()) throw XlsxError(fmt::format("part {} is missing", part));
    Entry& entry = it->second;
    const std::string& name = entry.name;
    if (entry.flag & 1u) throw XlsxError(fmt::format("part {} is encrypted", name));
    if (entry.method != 0 && entry.method != Z_DEFLATED)
      throw XlsxError(
          fmt::format("part {} uses zip compression method {}, not supported", name, entry.method));
    // The declared size is checked first (fast), but the inflated bytes are counted too.
    if (entry.size > limits_.max_part) throw too_big(name);
    if (entry.size > limits_.max_total - std::min(total_, limits_.max_total)) throw too_much(name);

    if (unzGoToFilePos64(zip_, &entry.pos) != UNZ_OK || unzOpenCurrentFile(zip_) != UNZ_OK)
      throw XlsxError(fmt::format("corrupt zip file: part {} cannot be opened", name));
    struct Closer {
      unzFile zip;
      bool open = true;
      int close() {
        open = false;
        return unzCloseCurrentFile(zip);
      }
      ~Closer() {
        if (open) unzCloseCurrentFile(zip);
      }
    } closer{zip_};

    std::string out;
    out.reserve(static_cast<std::size_t>(entry.size));
    std::array<char, kChunk> chunk;
    for (;;) {
      const int n = unzReadCurrentFile(zip_, chunk.data(), static_cast<unsigned>(chunk.size()));
      if (n < 0)
        throw XlsxError(
            fmt::format("corrupt zip file: part {} cannot be inflated (error {})", name, n));
      if (n == 0) break;
      const auto got = static_cast<std::size_t>(n);
      if (out.size() + got > limits_.max_part) throw too_big(name);
      if (total_ + got > limits_.max_total) throw too_much(name);
      out.append(chunk.data(), got);
      total_ += got;
    }
    // minizip checks the CRC only when the data inflates to the declared size.
    if (out.size() != entry.size)
      throw XlsxError(
          fmt::format("corrupt zip file: part {} inflates to {} bytes, not the {} declared", name,
                      out.size(), entry.size));
    const int rc = closer.close();
    if (rc == UNZ_CRCERROR)
      throw XlsxError(fmt::format("corrupt zip file: part {} fails its CRC check", name));
    if (rc != UNZ_OK)
      throw XlsxError(fmt::format("corrupt zip file: part {} (error {})", name, rc));
    return out;
  }

 private:
  struct Entry {
    std::string name;
    unz64_file_pos pos{};
    std::uint64_t size = 0;  // declared uncompressed size
    unsigned long flag = 0;
    unsigned long method = 0;
  };

  void index() {
    std::vector<char> name(65'536);
    int rc = unzGoToFirstFile(zip_);
    while (rc == UNZ_OK) {
      if (entries_.size() >= kMaxEntries)
        throw XlsxError(fmt::format("zip file has more than {} entries", kMaxEntries));
      unz_file_info64 info{};
      if (unzGetCurrentFileInfo64(zip_, &info, name.data(), static_cast<uLong>(name.size()),
                                  nullptr, 0, nullptr, 0) != UNZ_OK)
        throw XlsxError("corrupt zip file: bad central directory entry");
      Entry entry;
      entry.name.assign(name.data(), std::min<std::size_t>(info.size_filename, name.size()));
      entry.size = info.uncompressed_size;
      entry.flag = info.flag;
      entry.method = info.compression_method;
      if (unzGetFilePos64(zip_, &entry.pos) != UNZ_OK)
        throw XlsxError("corrupt zip file: bad central directory entry");
      // The first of duplicate names wins, as in most readers.
      entries_.emplace(part_key(entry.name), std::move(entry));
      rc = unzGoToNextFile(zip_);
    }
    if (rc != UNZ_END_OF_LIST_OF_FILE)
      throw XlsxError(
          fmt::format("corrupt zip file: its central directory cannot be read (error {})", rc));
  }

  XlsxError too_big(const std::string& name) const {
    return XlsxError(fmt::format("part {} exceeds {} uncompressed (zip bomb?)", name,
                                 size_text(limits_.max_part)));
  }
  XlsxError too_much(const std::string& name) const {
    return XlsxError(fmt::format("workbook exceeds {} uncompressed in total at part {} (zip bomb?)",
                                 size_text(limits_.max_total), name));
  }

  const XlsxLimits& limits_;
  MemStream stream_;
  // Closed by its own destructor, so that a constructor that throws after opening still closes.
  struct Handle {
    unzFile zip = nullptr;
    ~Handle() {
      if (zip) unzClose(zip);
    }
    operator unzFile() const { return zip; }
  } zip_;
  std::map<std::string, Entry> entries_;
  std::size_t total_ = 0;
};

// ---- XML helpers ---------------------------------------------------------------------------

// Element names are matched by local name: some writers prefix SpreadsheetML ("x:c").
std::string_view local_name(const char* qualified) {
  std::string_view name(qualified);
  const auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

bool is(pugi::xml_node node, std::string_view local) {
  return node.type() == pugi::node_element && local_name(node.name()) == local;
}

pugi::xml_node child(pugi::xml_node node, std::string_view local) {
  for (pugi::xml_node c : node.children())
    if (is(c, local)) return c;
  return {};
}

// A prefixed attribute by local name (r:id); unprefixed attributes are looked up by name.
pugi::xml_attribute prefixed_attribute(pugi::xml_node node, std::string_view local) {
  for (pugi::xml_attribute a : node.attributes()) {
    std::string_view name(a.name());
    if (name.find(':') != std::string_view::npos && local_name(a.name()) == local &&
        !name.starts_with("xmlns:"))
      return a;
  }
  return {};
}

// "_x000D_" at text[i]: the UTF-16 code unit, else nullopt.
std::optional<std::uint32_t> escape_at(std::string_view text, std::size_t i) {
  if (i + 7 > text.size() || text[i] != '_' || text[i + 1] != 'x' || text[i + 6] != '_')
    return std::nullopt;
  std::uint32_t unit = 0;
  for (std::size_t k = i + 2; k < i + 6; ++k) {
    const char c = text[k];
    unit <<= 4;
    if (c >= '0' && c <= '9')
      unit |= static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      unit |= static_cast<std::uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      unit |= static_cast<std::uint32_t>(c - 'A' + 10);
    else
      return std::nullopt;
  }
  return unit;
}

// ST_Xstring escapes: Excel writes characters XML cannot hold as _xHHHH_ (and "_x" as _x005F_x).
std::string decode_xstring(std::string_view text) {
  if (text.find("_x") == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto unit = escape_at(text, i);
    if (!unit) {
      out.push_back(text[i++]);
      continue;
    }
    i += 7;
    std::uint32_t cp = *unit;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      auto low = escape_at(text, i);
      if (low && *low >= 0xDC00 && *low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (*low - 0xDC00);
        i += 7;
      } else {
        cp = 0xFFFD;
      }
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      cp = 0xFFFD;
    }
    base::append_utf8(out, cp);
  }
  return out;
}

// The character data of one element (<t>, <v>), CDATA included.
std::string element_text(pugi::xml_node node) {
  std::string out;
  for (pugi::xml_node c : node.children())
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) out += c.value();
  return out;
}

// <si> or <is>: plain <t>, or rich-text runs <r><t>; phonetic runs <rPh> are not text.
std::string string_item(pugi::xml_node item) {
  std::string out;
  for (pugi::xml_node c : item.children()) {
    if (is(c, "t")) {
      out += decode_xstring(element_text(c));
    } else if (is(c, "r")) {
      for (pugi::xml_node t : c.children())
        if (is(t, "t")) out += decode_xstring(element_text(t));
    }
  }
  return out;
}

// pugixml decodes "&#0;" to a NUL inside its NUL-terminated text, which silently cut a URL short
// there. Such references become U+FFFF before parsing, another character XML forbids, which
// survives into the cell's text and makes that one cell an error.
void mark_nul_references(std::string& xml) {
  if (xml.find("&#") == std::string::npos) return;
  std::string out;
  std::size_t copied = 0;
  for (std::size_t at = xml.find("&#"); at != std::string::npos; at = xml.find("&#", at + 2)) {
    std::size_t i = at + 2;
    const bool hex = i < xml.size() && (xml[i] == 'x' || xml[i] == 'X');
    if (hex) ++i;
    const std::size_t digits = i;
    while (i < xml.size() && xml[i] == '0') ++i;
    if (i == digits || i >= xml.size() || xml[i] != ';') continue;
    out.append(xml, copied, at - copied);
    out += "&#xFFFF;";
    copied = i + 1;
  }
  if (copied == 0) return;
  out.append(xml, copied);
  xml = std::move(out);
}

struct XmlPart {
  std::string name;
  std::string bytes;  // parsed in place: keep alive with the document
  pugi::xml_document doc;
};

// Reads and parses a part; checks the local name of its root element.
std::unique_ptr<XmlPart> load_part(Zip& zip, const std::string& name, std::string_view root) {
  auto part = std::make_unique<XmlPart>();
  part->name = zip.find(name).value_or(name);
  part->bytes = zip.read(name);
  mark_nul_references(part->bytes);
  // parse_ws_pcdata_single keeps <t xml:space="preserve"> </t>; DOCTYPEs are skipped and
  // entities other than the five predefined ones are never expanded.
  const auto result = part->doc.load_buffer_inplace(
      part->bytes.data(), part->bytes.size(), pugi::parse_default | pugi::parse_ws_pcdata_single,
      pugi::encoding_auto);
  if (!result)
    throw XlsxError(fmt::format("part {} is not well-formed XML: {} at byte {}", part->name,
                                result.description(), result.offset));
  const pugi::xml_node top = part->doc.document_element();
  if (!is(top, root))
    throw XlsxError(fmt::format("part {}: expected a <{}> document, found <{}>", part->name, root,
                                top ? top.name() : ""));
  return part;
}

// ---- OPC relationships ---------------------------------------------------------------------

struct Relationship {
  std::string type;
  std::string target;  // resolved part name, no leading '/'
  bool external = false;
};

std::string_view directory_of(std::string_view part) {
  const auto slash = part.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : part.substr(0, slash + 1);
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      auto hex = [](char c) {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
      };
      const int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

// A relationship target relative to the source part's folder ("worksheets/sheet1.xml" from
// xl/workbook.xml), or absolute ("/xl/worksheets/sheet1.xml"); "." and ".." resolved.
std::string resolve_target(std::string_view source_dir, std::string_view target) {
  std::string path = target.starts_with('/') ? std::string(target.substr(1))
                                             : std::string(source_dir) + std::string(target);
  if (const auto cut = path.find_first_of("?#"); cut != std::string::npos) path.resize(cut);
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(std::move(segment));
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& s : segments) {
    if (!out.empty()) out += '/';
    out += s;
  }
  return out;
}

bool type_is(std::string_view type, std::string_view last_segment) {
  // Transitional (schemas.openxmlformats.org) and Strict (purl.oclc.org) types share the tail.
  return type.size() > last_segment.size() && type.ends_with(last_segment) &&
         type[type.size() - last_segment.size() - 1] == '/';
}

// The relationships of `source` ("xl/workbook.xml" -> "xl/_rels/workbook.xml.rels"), by Id.
std::map<std::string, Relationship> read_relationships(Zip& zip, std::string_view source,
                                                       bool required) {
  const std::string_view dir = directory_of(source);
  const std::string rels_name =
      std::string(dir) + "_rels/" + std::string(source.substr(dir.size())) + ".rels";
  std::map<std::string, Relationship> rels;
  if (!zip.find(rels_name)) {
    if (required) throw XlsxError(fmt::format("not an xlsx workbook: no {}", rels_name));
    return rels;
  }
  const auto part = load_part(zip, rels_name, "Relationships");
  for (pugi::xml_node r : part->doc.document_element().children()) {
    if (!is(r, "Relationship")) continue;
    Relationship rel;
    rel.type = r.attribute("Type").value();
    rel.external = std::string_view(r.attribute("TargetMode").value()) == "External";
    rel.target = rel.external ? r.attribute("Target").value()
                              : resolve_target(dir, r.attribute("Target").value());
    rels.emplace(r.attribute("Id").value(), std::move(rel));
  }
  return rels;
}

// A part named by a relationship, as the zip holds it (percent-encoded or not).
std::optional<std::string> find_target(const Zip& zip, const std::string& target) {
  if (zip.find(target)) return target;
  const std::string decoded = percent_decode(target);
  if (zip.find(decoded)) return decoded;
  return std::nullopt;
}

// ---- cells ---------------------------------------------------------------------------------

struct Context {
  const XlsxLimits& limits;
  std::vector<std::string> shared;
  std::size_t cells = 0;
};

// "443.0" -> "443", "-2.000" -> "-2"; anything else (1.5, 4.43E+2) as written.
std::string number_text(std::string_view v) {
  v = base::trim(v);
  const auto dot = v.find('.');
  if (dot != std::string_view::npos && dot > 0) {
    std::string_view whole = v.substr(0, dot), fraction = v.substr(dot + 1);
    std::string_view digits =
        whole.starts_with('-') || whole.starts_with('+') ? whole.substr(1) : whole;
    if (all_digits(digits) && !fraction.empty() &&
        fraction.find_first_not_of('0') == std::string_view::npos)
      return std::string(whole);
  }
  return std::string(v);
}

// "E17" -> column 5; nullopt if not a valid A1 reference.
std::optional<int> ref_column(std::string_view ref) {
  std::size_t i = 0;
  int column = 0;
  while (i < ref.size() && i < 3) {
    char c = ref[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') break;
    column = column * 26 + (c - 'A' + 1);
    ++i;
  }
  if (i == 0 || column > kMaxColumn) return std::nullopt;
  const std::string_view row = ref.substr(i);
  if (!all_digits(row) || row.size() > 7 || row.front() == '0') return std::nullopt;
  if (std::stoi(std::string(row)) > kMaxRow) return std::nullopt;
  return column;
}

constexpr std::string_view kForbidden = "\xEF\xBF\xBF";  // U+FFFF, and the mark for &#0;

struct CellValue {
  std::string text;
  XlsxCell::Kind kind = XlsxCell::Kind::text;
  std::string error;
};

CellValue cell_value(pugi::xml_node c, const Context& ctx) {
  using Kind = XlsxCell::Kind;
  const std::string_view type = c.attribute("t").value();
  const pugi::xml_node v = child(c, "v");
  CellValue out;
  if (type == "s") {
    if (!v) return out;
    const std::string index_text(base::trim(element_text(v)));
    if (!all_digits(index_text) || index_text.size() > 9)
      out.error = fmt::format("shared string index '{}' is not a number", index_text);
    else if (std::stoul(index_text) >= ctx.shared.size())
      out.error = fmt::format("shared string index '{}' is out of range (the workbook has {})",
                              index_text, ctx.shared.size());
    else
      out.text = ctx.shared[std::stoul(index_text)];
  } else if (type == "inlineStr" || (!v && child(c, "is"))) {
    out.text = string_item(child(c, "is"));
  } else if (!v) {
    return out;
  } else if (type == "str") {
    out.text = decode_xstring(element_text(v));
  } else if (type == "b") {
    out.kind = Kind::boolean;
    const std::string value = element_text(v);  // b views into it
    const std::string_view b = base::trim(value);
    out.text = b == "1" || b == "true" ? "TRUE" : b == "0" || b == "false" ? "FALSE" : b;
  } else if (type == "e" || type == "d") {
    out.kind = type == "e" ? Kind::error : Kind::date;
    out.text = base::trim(element_text(v));
  } else {
    out.kind = Kind::number;
    out.text = number_text(element_text(v));
  }
  if (out.text.find(kForbidden) != std::string::npos) {
    out.text.clear();
    out.error = "the text holds a character XML does not allow (&#0; or U+FFFF)";
  }
  return out;
}

XlsxSheet read_worksheet(const XmlPart& part, std::string name, Context& ctx) {
  XlsxSheet sheet;
  sheet.name = std::move(name);
  const pugi::xml_node data = child(part.doc.document_element(), "sheetData");
  int next_row = 1;
  auto count_cell = [&] {
    if (++ctx.cells > ctx.limits.max_cells)
      throw XlsxError(
          fmt::format("workbook has more than {} non-empty cells", ctx.limits.max_cells));
  };
  for (pugi::xml_node row : data.children()) {
    if (!is(row, "row")) continue;
    XlsxRow out;
    out.number = next_row;  // no r: the row after the previous one, as Excel reads it
    if (const pugi::xml_attribute r = row.attribute("r")) {
      const std::string_view text = base::trim(r.value());
      if (all_digits(text) && text.size() <= 7 && std::stoi(std::string(text)) >= 1 &&
          std::stoi(std::string(text)) <= kMaxRow)
        out.number = std::stoi(std::string(text));
      else
        out.error = fmt::format("row number '{}' is not valid", r.value());
    } else if (out.number > kMaxRow) {
      out.error = fmt::format("row beyond the last of {} rows", kMaxRow);
    }
    next_row = out.number + 1;
    if (!out.error.empty()) {
      // Its cells cannot be placed: the row is reported where it would be, and skipped.
      count_cell();
      sheet.rows.push_back(std::move(out));
      continue;
    }

    int next_column = 1;
    for (pugi::xml_node c : row.children()) {
      if (!is(c, "c")) continue;
      if (next_column > kMaxColumn) {
        out.error = fmt::format("more than {} columns", kMaxColumn);
        count_cell();
        break;
      }
      XlsxCell cell;
      cell.column = next_column;
      if (const pugi::xml_attribute r = c.attribute("r")) {
        if (const auto parsed = ref_column(base::trim(r.value())))
          cell.column = *parsed;
        else
          cell.error = fmt::format("cell reference '{}' is not valid", r.value());
      }
      next_column = cell.column + 1;
      cell.ref = column_letters(cell.column) + std::to_string(out.number);
      if (cell.error.empty()) {
        auto value = cell_value(c, ctx);
        cell.text = std::move(value.text);
        cell.kind = value.kind;
        cell.error = std::move(value.error);
      }
      if (cell.text.empty() && cell.error.empty()) continue;
      count_cell();
      out.cells.push_back(std::move(cell));
    }
    if (!out.cells.empty() || !out.error.empty()) sheet.rows.push_back(std::move(out));
  }
  return sheet;
}

// The workbook part: from _rels/.rels (officeDocument), else the usual xl/workbook.xml.
std::string find_workbook(Zip& zip) {
  for (const auto& [id, rel] : read_relationships(zip, ".rels", false)) {
    (void)id;
    if (!rel.external && type_is(rel.type, "officeDocument"))
      if (auto found = find_target(zip, rel.target)) return *found;
  }
  if (zip.find("xl/workbook.xml")) return "xl/workbook.xml";
  if (zip.find("xl/workbook.bin"))
    throw XlsxError("not an xlsx workbook: an .xlsb binary workbook (no xl/workbook.xml)");
  if (zip.find("mimetype") && zip.find("content.xml"))
    throw XlsxError("not an xlsx workbook: an OpenDocument file such as .ods (no xl/workbook.xml)");
  throw XlsxError("not an xlsx workbook: no xl/workbook.xml");
}

}  // namespace

std::string column_letters(int column) {
  std::string out;
  while (column > 0) {
    out.insert(out.begin(), static_cast<char>('A' + (column - 1) % 26));
    column = (column - 1) / 26;
  }
  return out;
}

std::vector<XlsxSheet> read_xlsx(std::string_view bytes, const XlsxLimits& limits) {
  Zip zip(bytes, limits);
  const std::string workbook_name = find_workbook(zip);
  const auto rels = read_relationships(zip, workbook_name, true);
  const auto workbook = load_part(zip, workbook_name, "workbook");

  Context ctx{limits, {}, 0};
  std::optional<std::string> shared_name;
  for (const auto& [id, rel] : rels) {
    (void)id;
    if (!rel.external && type_is(rel.type, "sharedStrings"))
      shared_name = find_target(zip, rel.target);
  }
  if (!shared_name)
    shared_name = zip.find(std::string(directory_of(workbook_name)) + "sharedStrings.xml");
  if (shared_name) {
    const auto sst = load_part(zip, *shared_name, "sst");
    for (pugi::xml_node si : sst->doc.document_element().children())
      if (is(si, "si")) ctx.shared.push_back(string_item(si));
  }

  std::vector<XlsxSheet> sheets;
  for (pugi::xml_node s : child(workbook->doc.document_element(), "sheets").children()) {
    if (!is(s, "sheet")) continue;
    const std::string name = s.attribute("name").value();
    const pugi::xml_attribute rid = prefixed_attribute(s, "id");
    if (!rid) throw XlsxError(fmt::format("{}: sheet '{}' has no r:id", workbook_name, name));
    const auto rel = rels.find(rid.value());
    if (rel == rels.end())
      throw XlsxError(
          fmt::format("{}: sheet '{}' ({}) has no relationship", workbook_name, name, rid.value()));
    if (!type_is(rel->second.type, "worksheet")) continue;  // chartsheet, dialogsheet, macrosheet
    const auto part_name = find_target(zip, rel->second.target);
    if (!part_name || rel->second.external)
      throw XlsxError(fmt::format("sheet '{}': part {} is missing", name, rel->second.target));
    const auto part = load_part(zip, *part_name, "worksheet");
    XlsxSheet sheet = read_worksheet(*part, name, ctx);
    const std::string_view state = s.attribute("state").value();
    sheet.hidden = state == "hidden" || state == "veryHidden";
    sheets.push_back(std::move(sheet));
  }
  return sheets;
}

}  // namespace urlprobe::sheet
