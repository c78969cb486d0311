#include "probes/web/html.hpp"

#include <gumbo.h>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <cstdint>
#include <memory>
#include <unordered_set>
#include <utility>
#include <vector>

#include "probes/web/utf8.hpp"

namespace edusight::web {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// Characters of nonce-like runs (base64, base64url, hex, UUID).
bool is_token_char(char c) {
  return is_alnum(c) || c == '+' || c == '/' || c == '_' || c == '-';
}
char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::size_t digits_at(std::string_view s, std::size_t i, std::size_t max = 16) {
  std::size_t n = 0;
  while (i + n < s.size() && n < max && is_digit(s[i + n])) ++n;
  return n;
}

bool starts(std::string_view s, std::size_t i, std::string_view what) {
  return s.substr(i, what.size()) == what;
}

// hh:mm[:ss[.fff]] at s[i]; returns the length or 0.
std::size_t match_time(std::string_view s, std::size_t i) {
  const std::size_t h = digits_at(s, i, 3);
  if (h < 1 || h > 2 || i + h >= s.size() || s[i + h] != ':') return 0;
  std::size_t p = i + h + 1;
  if (digits_at(s, p, 3) != 2) return 0;
  p += 2;
  if (p + 2 < s.size() && s[p] == ':' && digits_at(s, p + 1, 3) == 2) {
    p += 3;
    if (p + 1 < s.size() && (s[p] == '.' || s[p] == ',') && digits_at(s, p + 1) > 0) {
      p += 1 + digits_at(s, p + 1);
    }
  }
  return p - i;
}

// Dates (2024-05-01, 2024/5/1, 01.05.2024, 2024年5月1日, 5月1日) with an optional time and
// zone (2024-05-01T12:00:00Z), or a bare time; returns the length or 0.
std::size_t match_datetime(std::string_view s, std::size_t i) {
  if (const auto t = match_time(s, i)) return t;
  const std::size_t a = digits_at(s, i, 5);
  std::size_t p = i + a;
  static constexpr std::string_view kYear = "\xE5\xB9\xB4", kMonth = "\xE6\x9C\x88",
                                    kDay = "\xE6\x97\xA5";
  if ((a == 4 && starts(s, p, kYear)) || ((a == 1 || a == 2) && starts(s, p, kMonth))) {
    // CJK dates: [yyyy年]m月[d日]
    if (starts(s, p, kYear)) {
      p += kYear.size();
      const auto m = digits_at(s, p, 3);
      if (m < 1 || m > 2 || !starts(s, p + m, kMonth)) return p - i;
      p += m;
    }
    p += kMonth.size();
    const auto d = digits_at(s, p, 3);
    if (d >= 1 && d <= 2 && starts(s, p + d, kDay)) p += d + kDay.size();
    return p - i;
  }
  if (a < 1 || a > 4 || p >= s.size()) return 0;
  const char sep = s[p];
  if (sep != '-' && sep != '/' && sep != '.') return 0;
  const auto b = digits_at(s, p + 1, 3);
  if (b < 1 || b > 2 || p + 1 + b >= s.size() || s[p + 1 + b] != sep) return 0;
  const auto c = digits_at(s, p + 2 + b, 5);
  const bool ymd = a == 4 && c >= 1 && c <= 2;
  const bool dmy = a <= 2 && c >= 2 && c <= 4;
  if (!ymd && !dmy) return 0;
  p += 2 + b + c;
  if (p + 1 < s.size() && (s[p] == 'T' || s[p] == ' ')) {
    if (const auto t = match_time(s, p + 1)) {
      p += 1 + t;
      if (p < s.size() && s[p] == 'Z') {
        ++p;
      } else if (p < s.size() && (s[p] == '+' || s[p] == '-') && match_time(s, p + 1)) {
        p += 1 + match_time(s, p + 1);
      }
    }
  }
  return p - i;
}

// Nonces, CSRF tokens, __VIEWSTATE, UUIDs, timestamps: runs that differ between two fetches.
bool is_dynamic(std::string_view run) {
  while (!run.empty() && run.back() == '=') run.remove_suffix(1);
  std::size_t digit_run = 0, longest_digits = 0, digits = 0, hex = 0, alnum = 0, transitions = 0;
  bool all_hexish = true;
  int prev_class = -1;
  for (const char c : run) {
    digit_run = is_digit(c) ? digit_run + 1 : 0;
    longest_digits = std::max(longest_digits, digit_run);
    digits += is_digit(c) ? 1 : 0;
    hex += is_hex(c) ? 1 : 0;
    if (!is_hex(c) && c != '-') all_hexish = false;
    if (!is_alnum(c)) {
      prev_class = -1;
      continue;
    }
    ++alnum;
    const int cls = is_digit(c) ? 0 : (c >= 'a' && c <= 'z') ? 1 : 2;
    if (prev_class >= 0 && prev_class != cls) ++transitions;
    prev_class = cls;
  }
  if (longest_digits >= 6) return true;                    // timestamps, ids
  if (all_hexish && hex >= 16 && digits > 0) return true;  // hex nonces, UUIDs
  // Random base64 switches between lower case, upper case and digits most of the time;
  // words and slugs almost never do.
  return alnum >= 16 && transitions >= 4 && transitions * 5 >= alnum;
}

class Output {
 public:
  explicit Output(std::string& s) : s_(s) {}
  void space() { pending_ = true; }
  void put(std::string_view bytes) {
    if (pending_ && !s_.empty()) s_.push_back(' ');
    pending_ = false;
    s_.append(bytes);
  }
  void put(char c) { put(std::string_view(&c, 1)); }

 private:
  std::string& s_;
  bool pending_ = false;
};

// gumbo's tree construction is quadratic in nesting depth (5,000 nested <div> take a second,
// 20,000 half a minute), so the markup is flattened before parsing: start tags beyond
// `max_depth` open elements are dropped together with their end tags. Elements that cannot
// nest (void ones, implicitly closed ones such as <p>/<li>, and <a>) never count, so links
// survive. Raw-text elements are copied verbatim. One pass, O(input * max_depth) at worst.
std::string limit_nesting(std::string_view in, std::size_t max_depth) {
  static const std::unordered_set<std::string_view> kNeutral = {
      "area",  "base",     "br",      "col",      "embed",   "hr",      "img",    "input", "link",
      "meta",  "param",    "source",  "track",    "wbr",     "frame",   "keygen", "p",     "li",
      "dt",    "dd",       "option",  "optgroup", "tr",      "td",      "th",     "thead", "tbody",
      "tfoot", "colgroup", "caption", "rb",       "rt",      "rp",      "rtc",    "a",     "html",
      "head",  "body",     "image",   "basefont", "bgsound", "menuitem"};
  static const std::unordered_set<std::string_view> kRawText = {
      "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext"};
  static const std::unordered_set<std::string_view> kFormatting = {
      "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u"};
  std::string out;
  out.reserve(in.size());
  std::vector<std::string> open;  // counted open elements, at most max_depth
  std::size_t excess = 0;         // dropped start tags not yet closed
  std::size_t foreign = 0;        // <svg>/<math> entries in `open`
  const auto is_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  const auto find_ci = [&](std::size_t from, std::string_view needle) {
    // Case-insensitive search, bounded by the input size.
    for (std::size_t i = from; i + needle.size() <= in.size(); ++i) {
      std::size_t k = 0;
      while (k < needle.size() && lower(in[i + k]) == needle[k]) ++k;
      if (k == needle.size()) return i;
    }
    return std::string_view::npos;
  };
  std::size_t i = 0;
  while (i < in.size()) {  // every branch advances i
    const std::size_t lt = in.find('<', i);
    if (lt == std::string_view::npos) {
      out.append(in.substr(i));
      break;
    }
    out.append(in.substr(i, lt - i));
    i = lt;
    if (in.substr(i, 4) == "<!--") {
      const auto end = in.find("-->", i + 4);
      const std::size_t stop = end == std::string_view::npos ? in.size() : end + 3;
      out.append(in.substr(i, stop - i));
      i = stop;
      continue;
    }
    const bool closing = i + 1 < in.size() && in[i + 1] == '/';
    const std::size_t name_at = i + (closing ? 2 : 1);
    if (name_at >= in.size() || !is_letter(in[name_at])) {
      out.push_back('<');
      ++i;
      continue;
    }
    std::size_t j = name_at;
    std::string name;
    while (j < in.size() && in[j] != '>' && in[j] != '/' && in[j] != ' ' && in[j] != '\t' &&
           in[j] != '\n' && in[j] != '\r' && in[j] != '\f' && name.size() < 64) {
      name.push_back(lower(in[j++]));
    }
    // To the end of the tag, honouring quoted attribute values.
    char quote = 0;
    char prev = 0;
    bool self_closing = false;
    for (; j < in.size(); ++j) {
      const char c = in[j];
      if (quote) {
        if (c == quote) quote = 0;
      } else if ((c == '"' || c == '\'') && prev == '=') {
        quote = c;
      } else if (c == '>') {
        self_closing = prev == '/';
        break;
      }
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') prev = c;
    }
    const std::size_t tag_end = j < in.size() ? j + 1 : in.size();
    const std::string_view tag = in.substr(i, tag_end - i);
    i = tag_end;

    if (closing) {
      if (kNeutral.count(name) || kRawText.count(name)) {
        out.append(tag);
      } else if (excess > 0) {
        --excess;  // closes a dropped start tag
      } else {
        for (std::size_t k = open.size(); k > 0; --k) {
          if (open[k - 1] != name) continue;
          // Formatting elements close alone (adoption agency); others close what they contain.
          const std::size_t from = k - 1;
          const std::size_t to = kFormatting.count(name) ? k : open.size();
          for (std::size_t x = from; x < to; ++x)
            foreign -= (open[x] == "svg" || open[x] == "math");
          open.erase(open.begin() + static_cast<std::ptrdiff_t>(from),
                     open.begin() + static_cast<std::ptrdiff_t>(to));
          break;
        }
        out.append(tag);
      }
      continue;
    }
    if (kRawText.count(name)) {
      // Copy the element and its text as they are: its content is not markup.
      const auto end = find_ci(i, "</" + name);
      const std::size_t stop = end == std::string_view::npos ? in.size() : end;
      out.append(tag);
      out.append(in.substr(i, stop - i));
      i = stop;
      continue;
    }
    if (kNeutral.count(name) || (self_closing && foreign > 0)) {
      out.append(tag);
    } else if (open.size() < max_depth && excess == 0) {
      out.append(tag);
      open.push_back(name);
      foreign += (name == "svg" || name == "math");
    } else {
      ++excess;  // dropped
    }
  }
  return out;
}

}  // namespace

std::string normalise_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  Output o(out);
  for (std::size_t i = 0; i < s.size();) {  // every branch advances i
    const char c = s[i];
    if (is_alnum(c)) {
      if (is_digit(c)) {
        if (const auto m = match_datetime(s, i)) {
          i += m;
          o.space();
          continue;
        }
      }
      std::size_t j = i;
      while (j < s.size() && is_token_char(s[j])) ++j;
      for (int pad = 0; pad < 2 && j < s.size() && s[j] == '='; ++pad) ++j;
      const auto run = s.substr(i, j - i);
      if (is_dynamic(run)) {
        o.space();
      } else {
        for (const char r : run) o.put(lower(r));
      }
      i = j;
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x80) {
      if (c == ' ' || (c >= 0x09 && c <= 0x0D)) {
        o.space();
      } else if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7F) {
        o.put(c);
      }
      ++i;
      continue;
    }
    const auto d = utf8::decode(s, i);
    if (utf8::is_space(d.cp)) {
      o.space();
    } else if (!utf8::is_invisible(d.cp)) {
      o.put(d.cp == 0xFFFD && d.len == 1 ? std::string_view("\xEF\xBF\xBD") : s.substr(i, d.len));
    }
    i += d.len;
  }
  return out;
}

std::string resolve_link(std::string_view base, std::string_view ref) {
  // Trim C0 controls and spaces; drop tabs and newlines inside (as browsers do).
  while (!ref.empty() && static_cast<unsigned char>(ref.front()) <= 0x20) ref.remove_prefix(1);
  while (!ref.empty() && static_cast<unsigned char>(ref.back()) <= 0x20) ref.remove_suffix(1);
  if (ref.size() > 4096) return {};
  std::string clean;
  clean.reserve(ref.size() + 16);
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const auto b = static_cast<unsigned char>(ref[i]);
    if (b == '\t' || b == '\n' || b == '\r') continue;
    if (b == '#') break;  // the fragment is removed anyway
    if (b == '\\') {
      clean.push_back('/');
    } else if (b == '%' && !(i + 2 < ref.size() && is_hex(ref[i + 1]) && is_hex(ref[i + 2]))) {
      clean += "%25";
    } else if (b <= 0x20 || b >= 0x7F || b == '"' || b == '<' || b == '>' || b == '^' || b == '`' ||
               b == '{' || b == '|' || b == '}') {
      clean.push_back('%');
      clean.push_back(kHex[b >> 4]);
      clean.push_back(kHex[b & 0xF]);
    } else {
      clean.push_back(static_cast<char>(b));
    }
  }
  const auto r = boost::urls::parse_uri_reference(clean);
  if (!r) return {};
  boost::urls::url dest;
  if (r->has_scheme()) {
    dest = *r;
  } else {
    const auto b = boost::urls::parse_uri(base);
    if (!b) return {};
    if (!boost::urls::resolve(*b, *r, dest)) return {};
  }
  const auto scheme = dest.scheme_id();
  if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) return {};
  if (!dest.has_authority() || dest.encoded_host().empty()) return {};
  dest.remove_fragment();
  dest.normalize_scheme();
  dest.normalize_authority();
  // (set_encoded_path("/") yields "/./" in Boost 1.81.)
  if (dest.encoded_path().empty()) dest.set_path_absolute(true);
  return std::string(dest.buffer());
}

namespace {

struct GumboDeleter {
  void operator()(GumboOutput* o) const { gumbo_destroy_output(&kGumboDefaultOptions, o); }
};

const GumboVector* children_of(const GumboNode* n) {
  if (n->type == GUMBO_NODE_DOCUMENT) return &n->v.document.children;
  if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE) {
    return &n->v.element.children;
  }
  return nullptr;
}

const char* attr(const GumboNode* n, const char* name) {
  const GumboAttribute* a = gumbo_get_attribute(&n->v.element.attributes, name);
  return a ? a->value : nullptr;
}

// Elements whose boundaries do not separate words ("foo<b>bar</b>" is one word).
bool is_inline(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_A:
    case GUMBO_TAG_ABBR:
    case GUMBO_TAG_B:
    case GUMBO_TAG_BDI:
    case GUMBO_TAG_BDO:
    case GUMBO_TAG_BIG:
    case GUMBO_TAG_CITE:
    case GUMBO_TAG_CODE:
    case GUMBO_TAG_DFN:
    case GUMBO_TAG_EM:
    case GUMBO_TAG_FONT:
    case GUMBO_TAG_I:
    case GUMBO_TAG_KBD:
    case GUMBO_TAG_LABEL:
    case GUMBO_TAG_MARK:
    case GUMBO_TAG_Q:
    case GUMBO_TAG_S:
    case GUMBO_TAG_SAMP:
    case GUMBO_TAG_SMALL:
    case GUMBO_TAG_SPAN:
    case GUMBO_TAG_STRIKE:
    case GUMBO_TAG_STRONG:
    case GUMBO_TAG_SUB:
    case GUMBO_TAG_SUP:
    case GUMBO_TAG_TIME:
    case GUMBO_TAG_TT:
    case GUMBO_TAG_U:
    case GUMBO_TAG_VAR:
      return true;
    default:
      return false;
  }
}

bool is_hidden(GumboTag t) {
  return t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE || t == GUMBO_TAG_NOSCRIPT ||
         t == GUMBO_TAG_TEMPLATE || t == GUMBO_TAG_HEAD || t == GUMBO_TAG_TITLE;
}

bool iequals(const char* a, std::string_view b) {
  std::size_t i = 0;
  for (; a[i] != '\0' && i < b.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return a[i] == '\0' && i == b.size();
}

std::string collapse(std::string_view s, std::size_t max) {
  std::string out;
  Output o(out);
  for (std::size_t i = 0; i < s.size() && out.size() < max;) {
    const auto d = utf8::decode(s, i);
    if (utf8::is_space(d.cp)) {
      o.space();
    } else if (!utf8::is_invisible(d.cp)) {
      o.put(s.substr(i, d.len));
    }
    i += d.len;
  }
  return out;
}

}  // namespace

Page parse_html(std::string_view body, std::string_view base_url, ParseLimits limits) {
  Page page;
  const std::string flat = limit_nesting(body, limits.max_depth);
  std::unique_ptr<GumboOutput, GumboDeleter> doc(
      gumbo_parse_with_options(&kGumboDefaultOptions, flat.data(), flat.size()));
  if (!doc) return page;

  std::string text, title, base_href;
  bool have_title = false, have_base = false;
  std::vector<std::string_view> raw_links;
  const std::size_t max_raw = limits.max_links * 4;

  struct Item {
    const GumboNode* node;
    bool hidden;  // inside script/style/head/...: no visible text
    bool inert;   // inside <template>: no links either
    bool in_title;
    bool closing;  // a marker emitted after the children of a block element
  };
  std::vector<Item> stack;
  stack.push_back({doc->document, false, false, false, false});
  // Explicit stack instead of recursion: nesting depth is attacker-controlled. Each node is
  // pushed once (plus one closing marker), so the loop is bounded by twice the node count.
  while (!stack.empty()) {
    const Item it = stack.back();
    stack.pop_back();
    const GumboNode* n = it.node;
    if (it.closing) {
      text.push_back(' ');
      continue;
    }
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_CDATA ||
        n->type == GUMBO_NODE_WHITESPACE) {
      const std::string_view t = n->v.text.text;
      if (it.in_title) {
        if (title.size() < 4096) title.append(t);
      } else if (!it.hidden && text.size() < limits.max_text) {
        text.append(t.substr(0, limits.max_text - text.size()));
      }
      continue;
    }
    const GumboVector* kids = children_of(n);
    if (kids == nullptr) continue;  // comments
    Item child{nullptr, it.hidden, it.inert, it.in_title, false};
    if (n->type != GUMBO_NODE_DOCUMENT) {
      const GumboTag tag = n->v.element.tag;
      child.hidden = it.hidden || is_hidden(tag);
      child.inert = it.inert || tag == GUMBO_TAG_TEMPLATE || n->type == GUMBO_NODE_TEMPLATE;
      if (tag == GUMBO_TAG_TITLE && !have_title && !child.inert) {
        have_title = true;
        child.in_title = true;
      }
      if (!child.inert) {
        const char* link = nullptr;
        switch (tag) {
          case GUMBO_TAG_A:
          case GUMBO_TAG_AREA:
            link = attr(n, "href");
            break;
          case GUMBO_TAG_FRAME:
          case GUMBO_TAG_IFRAME:
            link = attr(n, "src");
            break;
          case GUMBO_TAG_BASE:
            if (const char* h = attr(n, "href"); h && !have_base) {
              have_base = true;
              base_href = h;
            }
            break;
          case GUMBO_TAG_INPUT:
            // Button captions are visible; hidden inputs carry tokens and state.
            if (const char* type = attr(n, "type");
                !child.hidden && type &&
                (iequals(type, "submit") || iequals(type, "button") || iequals(type, "reset"))) {
              if (const char* v = attr(n, "value"); v && text.size() < limits.max_text) {
                text.push_back(' ');
                text.append(v);
              }
            }
            break;
          default:
            break;
        }
        if (link && raw_links.size() < max_raw) raw_links.emplace_back(link);
      }
      if (!is_inline(tag)) {
        text.push_back(' ');
        stack.push_back({n, false, false, false, true});
      }
    }
    for (unsigned k = kids->length; k > 0; --k) {
      child.node = static_cast<const GumboNode*>(kids->data[k - 1]);
      stack.push_back(child);
    }
  }

  page.title = collapse(title, 1024);
  page.text = normalise_text(text);

  std::string base(base_url);
  if (have_base) {
    if (auto b = resolve_link(base_url, base_href); !b.empty()) base = std::move(b);
  }
  std::unordered_set<std::string> seen;
  for (const auto raw : raw_links) {
    if (page.links.size() >= limits.max_links) break;
    auto u = resolve_link(base, raw);
    if (u.empty() || !seen.insert(u).second) continue;
    page.links.push_back(std::move(u));
  }
  return page;
}

}  // namespace edusight::web
