// Go's fmt.Sprintf for template values: flags + - # 0 space, width, precision (also *), the
// verbs v s d q f F e E g G x X o b c t T U and %%, with Go's %!verb(type=value) diagnostics.
#include <cmath>
#include <cstdio>

#include "funcs.h"

namespace beacon::tmpl {
namespace {

struct Spec {
  bool minus = false, plus = false, sharp = false, zero = false, space = false;
  int width = -1, prec = -1;
  char verb = 'v';
};

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

void Pad(std::string& out, const std::string& body, const Spec& sp, bool numeric) {
  size_t w = RuneCount(body);
  if (sp.width < 0 || w >= static_cast<size_t>(sp.width)) {
    out += body;
    return;
  }
  size_t fill = static_cast<size_t>(sp.width) - w;
  if (sp.minus) {
    out += body + std::string(fill, ' ');
  } else if (sp.zero && numeric) {
    size_t sign = !body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ') ? 1 : 0;
    out += body.substr(0, sign) + std::string(fill, '0') + body.substr(sign);
  } else {
    out += std::string(fill, ' ') + body;
  }
}

std::string Utf8(int64_t cp) {
  std::string s;
  auto c = static_cast<uint32_t>(cp);
  if (cp < 0 || cp > 0x10ffff) c = 0xfffd;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xc0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xe0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    s += static_cast<char>(0xf0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (c & 0x3f));
  }
  return s;
}

std::string IntBase(int64_t v, int base, bool upper, const Spec& sp) {
  bool neg = v < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string d;
  do {
    d.insert(d.begin(), digits[u % static_cast<uint64_t>(base)]);
    u /= static_cast<uint64_t>(base);
  } while (u);
  if (sp.prec >= 0 && d.size() < static_cast<size_t>(sp.prec)) {
    d.insert(0, static_cast<size_t>(sp.prec) - d.size(), '0');
  }
  if (sp.sharp) {
    if (base == 16) d.insert(0, upper ? "0X" : "0x");
    if (base == 8 && d[0] != '0') d.insert(0, "0");
    if (base == 2) d.insert(0, "0b");
  }
  if (sp.verb == 'O') d.insert(0, "0o");
  if (neg) return "-" + d;
  if (sp.plus) return "+" + d;
  if (sp.space) return " " + d;
  return d;
}

std::string Float(double f, const Spec& sp) {
  char verb = sp.verb == 'v' ? 'g' : sp.verb;
  std::string s;
  if (std::isinf(f) || std::isnan(f)) return std::isnan(f) ? "NaN" : f > 0 ? "+Inf" : "-Inf";
  if ((verb == 'g' || verb == 'G') && sp.prec < 0) {
    s = FormatFloatG(f);
    if (verb == 'G') {
      for (auto& c : s) c = c == 'e' ? 'E' : c;
    }
  } else {
    char fmtbuf[16];
    std::snprintf(fmtbuf, sizeof fmtbuf, "%%.%d%c", sp.prec < 0 ? 6 : sp.prec,
                  verb == 'F' ? 'f' : verb);
    char buf[512];
    std::snprintf(buf, sizeof buf, fmtbuf, f);
    s = buf;
  }
  if (f >= 0 && s[0] != '-') {
    if (sp.plus)
      s = "+" + s;
    else if (sp.space)
      s = " " + s;
  }
  return s;
}

std::string HexString(std::string_view s, bool upper, const Spec& sp) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (sp.space && i > 0) out += ' ';
    if (sp.sharp && (i == 0 || sp.space)) out += upper ? "0X" : "0x";
    auto c = static_cast<unsigned char>(s[i]);
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string Bad(char verb, const Value& v) {
  if (v.kind() == Kind::kNil || v.kind() == Kind::kInvalid) {
    return std::string("%!") + verb + "(<nil>)";
  }
  return std::string("%!") + verb + "(" + v.GoType() + "=" + GoString(v) + ")";
}

void Format(std::string& out, const Value& v, const Spec& sp, int depth);

void FormatContainer(std::string& out, const Value& v, const Spec& sp, int depth) {
  const Spec& inner = sp;  // Go applies flags, width and precision to each element
  if (v.kind() == Kind::kList) {
    out += '[';
    bool first = true;
    for (const auto& item : v.list().items) {
      if (!first) out += ' ';
      first = false;
      Format(out, item, inner, depth + 1);
    }
    out += ']';
  } else if (v.kind() == Kind::kMap) {
    out += "map[";
    bool first = true;
    for (const auto& [k, item] : v.map().entries) {
      if (!first) out += ' ';
      first = false;
      Format(out, Value::Str(k), inner, depth + 1);
      out += ':';
      Format(out, item, inner, depth + 1);
    }
    out += ']';
  } else {
    const Record& r = v.rec();
    if (r.type->pointer && depth >= 0) out += '&';
    out += '{';
    for (size_t i = 0; i < r.fields.size(); ++i) {
      if (i) out += ' ';
      if (sp.plus) out += r.type->fields[i] + ":";
      Format(out, r.fields[i], inner, depth + 1);
    }
    out += '}';
  }
}

void Format(std::string& out, const Value& v, const Spec& sp, int depth) {
  char verb = sp.verb;
  if (verb == 'T') {
    Pad(out, v.kind() == Kind::kInvalid ? "<nil>" : v.GoType(), sp, false);
    return;
  }
  switch (v.kind()) {
    case Kind::kInvalid:
    case Kind::kNil:
      if (verb == 'v')
        Pad(out, "<nil>", sp, false);
      else
        out += Bad(verb, v);
      return;
    case Kind::kBool:
      if (verb == 'v' || verb == 't')
        Pad(out, v.b() ? "true" : "false", sp, false);
      else
        out += Bad(verb, v);
      return;
    case Kind::kInt:
      switch (verb) {
        case 'v':
        case 'd':
          Pad(out, IntBase(v.i(), 10, false, sp), sp, true);
          return;
        case 'b':
          Pad(out, IntBase(v.i(), 2, false, sp), sp, true);
          return;
        case 'o':
        case 'O':
          Pad(out, IntBase(v.i(), 8, false, sp), sp, true);
          return;
        case 'x':
        case 'X':
          Pad(out, IntBase(v.i(), 16, verb == 'X', sp), sp, true);
          return;
        case 'c':
          Pad(out, Utf8(v.i()), sp, false);
          return;
        case 'q':
          Pad(out, "'" + Utf8(v.i()) + "'", sp, false);
          return;
        case 'U': {
          char buf[32];
          std::snprintf(buf, sizeof buf, "U+%04llX", static_cast<unsigned long long>(v.i()));
          Pad(out, buf, sp, false);
          return;
        }
        default:
          out += Bad(verb, v);
          return;
      }
    case Kind::kFloat:
      switch (verb) {
        case 'v':
        case 'g':
        case 'G':
        case 'e':
        case 'E':
        case 'f':
        case 'F':
          Pad(out, Float(v.f(), sp), sp, true);
          return;
        default:
          out += Bad(verb, v);
          return;
      }
    case Kind::kString: {
      std::string s = v.s();
      if (sp.prec >= 0 && (verb == 's' || verb == 'v' || verb == 'q')) {
        size_t n = 0, i = 0;
        for (; i < s.size(); ++i) {
          if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80 &&
              n++ == static_cast<size_t>(sp.prec))
            break;
        }
        s.resize(i);
      }
      switch (verb) {
        case 'v':
        case 's':
          Pad(out, s, sp, false);
          return;
        case 'q':
          Pad(out, GoQuote(s), sp, false);
          return;
        case 'x':
        case 'X':
          Pad(out, HexString(s, verb == 'X', sp), sp, false);
          return;
        default:
          out += Bad(verb, v);
          return;
      }
    }
    case Kind::kList:
    case Kind::kMap:
    case Kind::kRecord:
      FormatContainer(out, v, sp, depth);
      return;
  }
}

}  // namespace

std::string Sprintf(std::string_view f, const std::vector<Value>& args, size_t first) {
  std::string out;
  size_t argi = first;
  for (size_t i = 0; i < f.size();) {
    if (f[i] != '%') {
      size_t next = f.find('%', i);
      if (next == std::string_view::npos) next = f.size();
      out.append(f.substr(i, next - i));
      i = next;
      continue;
    }
    ++i;
    Spec sp;
    for (; i < f.size(); ++i) {
      char c = f[i];
      if (c == '-')
        sp.minus = true, sp.zero = false;
      else if (c == '+')
        sp.plus = true;
      else if (c == '#')
        sp.sharp = true;
      else if (c == '0')
        sp.zero = !sp.minus;
      else if (c == ' ')
        sp.space = true;
      else
        break;
    }
    auto num = [&](int* dst) {
      if (i < f.size() && f[i] == '*') {
        ++i;
        if (argi < args.size() && args[argi].kind() == Kind::kInt) {
          *dst = static_cast<int>(args[argi++].i());
          if (*dst < 0 && dst == &sp.width) sp.minus = true, *dst = -*dst;
        } else {
          out += "%!(BADWIDTH)";
          if (argi < args.size()) ++argi;
        }
        return;
      }
      if (i < f.size() && f[i] >= '0' && f[i] <= '9') {
        *dst = 0;
        while (i < f.size() && f[i] >= '0' && f[i] <= '9') *dst = *dst * 10 + (f[i++] - '0');
      }
    };
    num(&sp.width);
    if (i < f.size() && f[i] == '.') {
      ++i;
      sp.prec = 0;
      num(&sp.prec);
    }
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    sp.verb = f[i++];
    if (sp.verb == '%') {
      out += '%';
      continue;
    }
    if (argi >= args.size()) {
      out += std::string("%!") + sp.verb + "(MISSING)";
      continue;
    }
    Format(out, args[argi++], sp, 0);
  }
  if (argi < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argi; k < args.size(); ++k) {
      if (k > argi) out += ", ";
      const Value& v = args[k];
      out += v.kind() == Kind::kNil || v.kind() == Kind::kInvalid ? "<nil>"
                                                                  : v.GoType() + "=" + GoString(v);
    }
    out += ")";
  }
  return out;
}

}  // namespace beacon::tmpl
