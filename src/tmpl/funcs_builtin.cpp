// Go text/template's builtin functions (and, or, not, len, index, slice, eq, ne, lt, le, gt, ge,
// print, printf, println, html, urlquery) and the function table lookup.
#include <cctype>
#include <cstdio>

#include "funcs.h"

namespace beacon::tmpl {
namespace {

Result<Value> Not(Ctx&, std::vector<Value>& a) {
  return Value::Bool(!Truth(a[0]));
}

Result<Value> Len(Ctx&, std::vector<Value>& a) {
  const Value& v = a[0];
  switch (v.kind()) {
    case Kind::kString:
      return Value::Int(static_cast<int64_t>(v.s().size()));
    case Kind::kList:
      return Value::Int(static_cast<int64_t>(v.list().items.size()));
    case Kind::kMap:
      return Value::Int(static_cast<int64_t>(v.map().entries.size()));
    case Kind::kInvalid:
    case Kind::kNil:
      return Status::Error("len of nil pointer");
    default:
      return Status::Error("len of type " + v.GoType());
  }
}

Result<Value> Index(Ctx&, std::vector<Value>& a) {
  Value item = a[0];
  for (size_t k = 1; k < a.size(); ++k) {
    const Value& ix = a[k];
    switch (item.kind()) {
      case Kind::kList:
      case Kind::kString: {
        if (ix.kind() != Kind::kInt) {
          return Status::Error("cannot index slice/array with type " + ix.GoType());
        }
        size_t n = item.kind() == Kind::kList ? item.list().items.size() : item.s().size();
        if (ix.i() < 0 || static_cast<size_t>(ix.i()) >= n) {
          return Status::Error("index out of range: " + std::to_string(ix.i()));
        }
        item = item.kind() == Kind::kList
                   ? item.list().items[static_cast<size_t>(ix.i())]
                   : Value::Int(static_cast<unsigned char>(item.s()[static_cast<size_t>(ix.i())]));
        break;
      }
      case Kind::kMap: {
        if (ix.kind() != Kind::kString) {
          return Status::Error("value has type " + ix.GoType() + "; should be string");
        }
        const Value* v = item.map().Find(ix.s());
        item = v ? *v : item.map().Zero();
        break;
      }
      case Kind::kInvalid:
      case Kind::kNil:
        return Status::Error("index of untyped nil");
      default:
        return Status::Error("can't index item of type " + item.GoType());
    }
  }
  return item;
}

Result<Value> Slice(Ctx&, std::vector<Value>& a) {
  const Value& v = a[0];
  if (a.size() > 4) return Status::Error("too many slice indexes: " + std::to_string(a.size() - 1));
  size_t n = v.kind() == Kind::kList     ? v.list().items.size()
             : v.kind() == Kind::kString ? v.s().size()
                                         : 0;
  if (v.kind() != Kind::kList && v.kind() != Kind::kString) {
    return Status::Error("can't slice item of type " + v.GoType());
  }
  if (v.kind() == Kind::kString && a.size() == 4) {
    return Status::Error("cannot 3-index slice a string");
  }
  size_t idx[2] = {0, n};
  for (size_t k = 1; k < a.size() && k < 3; ++k) {
    if (a[k].kind() != Kind::kInt)
      return Status::Error("cannot index slice/array with type " + a[k].GoType());
    if (a[k].i() < 0 || static_cast<size_t>(a[k].i()) > n) {
      return Status::Error("index out of range: " + std::to_string(a[k].i()));
    }
    idx[k - 1] = static_cast<size_t>(a[k].i());
  }
  if (idx[0] > idx[1]) {
    return Status::Error("invalid slice index: " + std::to_string(idx[0]) + " > " +
                         std::to_string(idx[1]));
  }
  if (v.kind() == Kind::kString) return Value::Str(v.s().substr(idx[0], idx[1] - idx[0]));
  const auto& items = v.list().items;
  return MakeList(std::vector<Value>(items.begin() + static_cast<ptrdiff_t>(idx[0]),
                                     items.begin() + static_cast<ptrdiff_t>(idx[1])),
                  v.list().elem);
}

bool Basic(Kind k) {
  return k == Kind::kBool || k == Kind::kInt || k == Kind::kFloat || k == Kind::kString;
}
bool Nilish(const Value& v) {
  return v.kind() == Kind::kNil || v.kind() == Kind::kInvalid ||
         (v.kind() == Kind::kList && v.list().is_nil) || (v.kind() == Kind::kMap && v.map().is_nil);
}

// Go's eq for one pair; error text as text/template's.
Result<bool> EqPair(const Value& x, const Value& y) {
  if (x.kind() != y.kind()) {
    if (x.valid() && y.valid() && x.kind() != Kind::kNil && y.kind() != Kind::kNil) {
      return Status::Error("incompatible types for comparison");
    }
    return Nilish(x) && Nilish(y);
  }
  switch (x.kind()) {
    case Kind::kBool:
      return x.b() == y.b();
    case Kind::kInt:
      return x.i() == y.i();
    case Kind::kFloat:
      return x.f() == y.f();
    case Kind::kString:
      return x.s() == y.s();
    case Kind::kInvalid:
    case Kind::kNil:
      return true;
    default:
      if (Nilish(x) || Nilish(y)) return Nilish(x) == Nilish(y);
      return Status::Error("non-comparable type " + GoString(x) + ": " + x.GoType());
  }
}

Result<Value> Eq(Ctx&, std::vector<Value>& a) {
  for (size_t k = 1; k < a.size(); ++k) {
    auto r = EqPair(a[0], a[k]);
    if (!r.ok()) return r.status();
    if (*r) return Value::Bool(true);
  }
  return Value::Bool(false);
}

Result<Value> Ne(Ctx&, std::vector<Value>& a) {
  auto r = EqPair(a[0], a[1]);
  if (!r.ok()) return r.status();
  return Value::Bool(!*r);
}

Result<bool> Less(const Value& x, const Value& y) {
  if (!Basic(x.kind()) || !Basic(y.kind()) || x.kind() == Kind::kBool || y.kind() == Kind::kBool) {
    return Status::Error("invalid type for comparison");
  }
  if (x.kind() != y.kind()) return Status::Error("incompatible types for comparison");
  switch (x.kind()) {
    case Kind::kInt:
      return x.i() < y.i();
    case Kind::kFloat:
      return x.f() < y.f();
    default:
      return x.s() < y.s();
  }
}

template <int kOp>  // 0 lt, 1 le, 2 gt, 3 ge
Result<Value> Cmp(Ctx&, std::vector<Value>& a) {
  auto lt = Less(a[0], a[1]);
  if (!lt.ok()) return lt.status();
  auto eq = EqPair(a[0], a[1]);
  if (!eq.ok()) return eq.status();
  bool r = kOp == 0 ? *lt : kOp == 1 ? (*lt || *eq) : kOp == 2 ? !(*lt || *eq) : !*lt;
  return Value::Bool(r);
}

Result<Value> Print(Ctx&, std::vector<Value>& a) {
  std::string out;
  for (size_t k = 0; k < a.size(); ++k) {
    if (k > 0 && a[k].kind() != Kind::kString && a[k - 1].kind() != Kind::kString) out += ' ';
    AppendGo(out, a[k].valid() ? a[k] : Value::Nil());
  }
  return Value::Str(std::move(out));
}

Result<Value> Println(Ctx&, std::vector<Value>& a) {
  std::string out;
  for (size_t k = 0; k < a.size(); ++k) {
    if (k > 0) out += ' ';
    AppendGo(out, a[k].valid() ? a[k] : Value::Nil());
  }
  return Value::Str(out + "\n");
}

Result<Value> Printf(Ctx&, std::vector<Value>& a) {
  auto f = ArgString(a[0]);
  if (!f.ok()) return f.status();
  return Value::Str(Sprintf(*f, a, 1));
}

std::string Joined(const std::vector<Value>& a) {
  if (a.size() == 1 && a[0].kind() == Kind::kString) return a[0].s();
  std::string out;
  for (size_t k = 0; k < a.size(); ++k) {
    if (k > 0 && a[k].kind() != Kind::kString && a[k - 1].kind() != Kind::kString) out += ' ';
    AppendGo(out, a[k].valid() ? a[k] : Value::Nil());
  }
  return out;
}

Result<Value> Html(Ctx&, std::vector<Value>& a) {
  std::string out;
  for (char c : Joined(a)) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\0':
        out += "\uFFFD";
        break;
      default:
        out += c;
    }
  }
  return Value::Str(std::move(out));
}

// Go's unicode.IsPrint is false for these (C1 controls, non-ASCII spaces, line/paragraph
// separators, format characters): JSEscape writes them as \uXXXX.
bool JsUnprintable(uint32_t r) {
  return (r >= 0x80 && r <= 0xA0) || r == 0xAD || r == 0x1680 || (r >= 0x2000 && r <= 0x200F) ||
         (r >= 0x2028 && r <= 0x202F) || (r >= 0x205F && r <= 0x2064) || r == 0x3000 || r == 0xFEFF;
}

// Go's template.JSEscapeString.
Result<Value> Js(Ctx&, std::vector<Value>& a) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const std::string in = Joined(a);
  std::string out;
  auto uni = [&](uint32_t r) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(r >> shift) & 15];
  };
  for (size_t i = 0; i < in.size();) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      switch (c) {
        case '\\':
          out += "\\\\";
          break;
        case '\'':
          out += "\\'";
          break;
        case '"':
          out += "\\\"";
          break;
        case '<':
        case '>':
        case '&':
        case '=':
          uni(c);
          break;
        default:
          if (c < ' ') {
            uni(c);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence: decoded to test it; an invalid byte passes through as Go writes it.
    const size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    uint32_t r = n == 1 ? 0xFFFD : c & (0x7F >> n);
    bool valid = n > 1 && i + n <= in.size();
    for (size_t k = 1; valid && k < n; ++k) {
      const auto cc = static_cast<unsigned char>(in[i + k]);
      valid = (cc & 0xC0) == 0x80;
      r = (r << 6) | (cc & 0x3F);
    }
    if (valid && JsUnprintable(r)) {
      uni(r);
    } else {
      out.append(in, i, valid ? n : 1);
    }
    i += valid ? n : 1;
  }
  return Value::Str(std::move(out));
}

Result<Value> UrlQuery(Ctx&, std::vector<Value>& a) {
  std::string out;
  for (char ch : Joined(a)) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return Value::Str(std::move(out));
}

}  // namespace

const std::vector<FuncDef>& BuiltinFuncs() {
  static const std::vector<FuncDef> kFuncs = {{"and", 1, -1, ExecutorEvaluated},
                                              {"or", 1, -1, ExecutorEvaluated},
                                              {"not", 1, 1, Not},
                                              {"len", 1, 1, Len},
                                              {"index", 1, -1, Index},
                                              {"slice", 1, -1, Slice},
                                              {"eq", 2, -1, Eq},
                                              {"ne", 2, 2, Ne},
                                              {"lt", 2, 2, Cmp<0>},
                                              {"le", 2, 2, Cmp<1>},
                                              {"gt", 2, 2, Cmp<2>},
                                              {"ge", 2, 2, Cmp<3>},
                                              {"print", 0, -1, Print},
                                              {"printf", 1, -1, Printf},
                                              {"println", 0, -1, Println},
                                              {"html", 0, -1, Html},
                                              {"js", 0, -1, Js},
                                              {"urlquery", 0, -1, UrlQuery}};
  return kFuncs;
}

const FuncDef* FindFunc(std::string_view name) {
  for (const auto* table : {&BuiltinFuncs(), &TextFuncs(), &ConsulFuncs(), &MoreFuncs()}) {
    for (const auto& f : *table) {
      if (f.name == name) return &f;
    }
  }
  return nullptr;
}

Status WrongType(const Value& v, std::string_view want) {
  if (!v.valid()) return Status::Error("invalid value; expected " + std::string(want));
  return Status::Error("wrong type for value; expected " + std::string(want) + "; got " +
                       v.GoType());
}

Result<std::string> ArgString(const Value& v) {
  if (v.kind() != Kind::kString) return WrongType(v, "string");
  return v.s();
}

Result<Value> ExecutorEvaluated(Ctx&, std::vector<Value>&) {
  return Value();
}

}  // namespace beacon::tmpl
