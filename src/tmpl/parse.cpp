// Template::Parse: tokens (lex.cpp) into the tree of ast.h, with Go's parse-time checks
// (defined functions and variables, block structure, pipeline shape).
#include <algorithm>

#include "ast.h"
#include "funcs.h"
#include "lex.h"
#include "literal.h"
#include "value.h"

namespace beacon::tmpl {
namespace {

std::string Describe(const Token& t) {
  switch (t.type) {
    case Tok::kEOF:
      return "EOF";
    case Tok::kRightDelim:
      return "right delimiter";
    case Tok::kLeftDelim:
      return "left delimiter";
    case Tok::kText:
      return "text";
    default:
      return GoQuote(t.text);
  }
}

class Parser {
 public:
  Parser(Template::Tree* t, std::vector<Token> toks, const std::vector<std::string>& denied)
      : t_(t), toks_(std::move(toks)), denied_(denied) {}

  Status Run() {
    Term term;
    Status s = List(&t_->root, &term, /*top=*/true);
    return s;
  }

 private:
  enum class Term { kEOF, kEnd, kElse, kElseIf, kElseWith };

  const Token& Peek() const { return toks_[i_]; }
  const Token& Next() { return toks_[i_ < toks_.size() - 1 ? i_++ : i_]; }
  Status Err(size_t pos, const std::string& msg) const {
    return Status::Error(t_->name + ":" + LineCol(t_->src, pos) + ": " + msg);
  }
  Status Unexpected(const Token& t, std::string_view ctx) const {
    return Err(t.pos, "unexpected " + Describe(t) + " in " + std::string(ctx));
  }
  Status ExpectRight(std::string_view ctx) {
    const Token& t = Next();
    if (t.type != Tok::kRightDelim) return Unexpected(t, ctx);
    return Status::Ok();
  }

  // Nodes until {{end}}, {{else}} or EOF; *term says which (else-if's "if" is left unread).
  Status List(std::vector<Node>* out, Term* term, bool top) {
    while (true) {
      const Token& t = Next();
      if (t.type == Tok::kEOF) {
        if (!top) return Err(t.pos, "unexpected EOF");
        *term = Term::kEOF;
        return Status::Ok();
      }
      if (t.type == Tok::kText) {
        Node n;
        n.type = Node::kText;
        n.pos = t.pos;
        n.text = t.text;
        out->push_back(std::move(n));
        continue;
      }
      // kLeftDelim
      const Token& a = Peek();
      size_t apos = a.pos;
      switch (a.type) {
        case Tok::kEnd:
          Next();
          term_pos_ = apos;
          if (top) return Err(apos, "unexpected {{end}}");
          *term = Term::kEnd;
          return ExpectRight("end");
        case Tok::kElse: {
          Next();
          term_pos_ = apos;
          if (top) return Err(apos, "unexpected {{else}}");
          if (Peek().type == Tok::kIf) {
            *term = Term::kElseIf;
            return Status::Ok();
          }
          if (Peek().type == Tok::kWith) {
            *term = Term::kElseWith;
            return Status::Ok();
          }
          *term = Term::kElse;
          return ExpectRight("else");
        }
        case Tok::kIf:
        case Tok::kRange:
        case Tok::kWith: {
          Next();
          Node n;
          if (Status s = Control(a.type, apos, &n); !s.ok()) return s;
          out->push_back(std::move(n));
          continue;
        }
        case Tok::kBreak:
        case Tok::kContinue: {
          Next();
          if (range_depth_ == 0) {
            return Err(apos, a.type == Tok::kBreak ? "{{break}} outside {{range}}"
                                                   : "{{continue}} outside {{range}}");
          }
          Node n;
          n.type = a.type == Tok::kBreak ? Node::kBreak : Node::kContinue;
          n.pos = apos;
          if (Status s = ExpectRight(a.type == Tok::kBreak ? "break" : "continue"); !s.ok()) {
            return s;
          }
          out->push_back(std::move(n));
          continue;
        }
        case Tok::kDefine:
        case Tok::kBlock:
        case Tok::kTemplate: {
          Next();
          Node n;
          if (Status s = TemplateCall(a.type, apos, top, &n); !s.ok()) return s;
          if (a.type != Tok::kDefine) out->push_back(std::move(n));
          continue;
        }
        default: {
          Node n;
          n.type = Node::kAction;
          n.pos = apos;
          auto p = std::make_shared<Pipe>();
          if (Status s = ParsePipe(p.get(), "command", Tok::kRightDelim, false); !s.ok()) return s;
          n.pipe = std::move(p);
          out->push_back(std::move(n));
          continue;
        }
      }
    }
  }

  Status Control(Tok kind, size_t pos, Node* n) {
    if (++depth_ > kMaxNesting) return Err(pos, "max nesting depth exceeded");
    Status s = ControlBody(kind, pos, n);
    --depth_;
    return s;
  }

  Status ControlBody(Tok kind, size_t pos, Node* n) {
    n->type = kind == Tok::kIf ? Node::kIf : kind == Tok::kRange ? Node::kRange : Node::kWith;
    n->pos = pos;
    size_t mark = vars_.size();
    auto p = std::make_shared<Pipe>();
    const char* ctx = kind == Tok::kIf ? "if" : kind == Tok::kRange ? "range" : "with";
    if (Status s = ParsePipe(p.get(), ctx, Tok::kRightDelim, kind == Tok::kRange); !s.ok()) {
      return s;
    }
    n->pipe = std::move(p);
    Term term;
    if (kind == Tok::kRange) ++range_depth_;
    Status s = List(&n->list, &term, false);
    if (kind == Tok::kRange) --range_depth_;
    if (!s.ok()) return s;
    if (term == Term::kElseIf || term == Term::kElseWith) {
      if (term == Term::kElseWith && kind != Tok::kWith) {
        return Err(Peek().pos, "unexpected \"with\" in else");
      }
      Tok inner = Next().type;  // if / with: a nested block that consumes our {{end}}
      Node e;
      if (Status s2 = Control(inner, Peek().pos, &e); !s2.ok()) return s2;
      n->else_list.push_back(std::move(e));
    } else if (term == Term::kElse) {
      if (Status s2 = List(&n->else_list, &term, false); !s2.ok()) return s2;
      if (term != Term::kEnd) return Err(term_pos_, "expected end; found {{else}}");
    }
    vars_.resize(mark);
    return Status::Ok();
  }

  Status TemplateCall(Tok kind, size_t pos, bool top, Node* n) {
    const char* ctx = kind == Tok::kDefine  ? "define clause"
                      : kind == Tok::kBlock ? "block clause"
                                            : "template clause";
    const Token& nt = Next();
    std::string name;
    if ((nt.type != Tok::kString && nt.type != Tok::kRawString) ||
        (nt.type == Tok::kString && !Unquote(nt.text, &name))) {
      return Unexpected(nt, ctx);
    }
    if (nt.type == Tok::kRawString) name = std::string(nt.text.substr(1, nt.text.size() - 2));
    n->type = Node::kTemplate;
    n->pos = pos;
    n->name = name;
    if (kind == Tok::kDefine) {
      if (!top) return Err(pos, "unexpected {{define}}: not at top level");
      if (Status s = ExpectRight(ctx); !s.ok()) return s;
    } else if (kind == Tok::kBlock || Peek().type != Tok::kRightDelim) {
      auto p = std::make_shared<Pipe>();
      if (Status s = ParsePipe(p.get(), ctx, Tok::kRightDelim, false); !s.ok()) return s;
      n->pipe = std::move(p);
    } else {
      Next();
    }
    if (kind == Tok::kTemplate) return Status::Ok();
    // define / block: a body up to {{end}}, with its own variables ($ only).
    std::vector<std::string> saved;
    saved.swap(vars_);
    vars_.push_back("$");
    std::vector<Node> body;
    Term term;
    int saved_range = range_depth_;
    range_depth_ = 0;
    Status s = List(&body, &term, false);
    range_depth_ = saved_range;
    vars_.swap(saved);
    if (!s.ok()) return s;
    if (term != Term::kEnd) return Err(pos, "unexpected {{else}} in " + std::string(ctx));
    // Go's rule: an empty definition never replaces another; a second non-empty one is an error.
    auto empty = [](const std::vector<Node>& b) {
      for (const Node& n : b) {
        if (n.type != Node::kText || n.text.find_first_not_of(" \t\r\n") != std::string::npos) {
          return false;
        }
      }
      return true;
    };
    for (auto& [k, old] : t_->defines) {
      if (k != name) continue;
      if (empty(body)) return Status::Ok();
      if (!empty(old))
        return Err(pos, "template: multiple definition of template \"" + name + "\"");
      old = std::move(body);
      return Status::Ok();
    }
    t_->defines.emplace_back(name, std::move(body));
    return Status::Ok();
  }

  bool HasVar(std::string_view v) const {
    for (const auto& x : vars_) {
      if (x == v) return true;
    }
    return false;
  }

  Status ParsePipe(Pipe* p, std::string_view ctx, Tok end, bool range) {
    p->pos = Peek().pos;
    // Declarations: $x := / $x = / (range) $i, $v :=
    if (Peek().type == Tok::kVariable) {
      size_t save = i_;
      const Token& v1 = Next();
      const Token& op = Peek();
      if (op.type == Tok::kDeclare || op.type == Tok::kAssign) {
        Next();
        p->decl.emplace_back(v1.text);
        p->is_assign = op.type == Tok::kAssign;
      } else if (op.type == Tok::kComma && range) {
        Next();
        const Token& v2 = Next();
        if (v2.type != Tok::kVariable) return Err(v2.pos, "range can only initialize variables");
        const Token& op2 = Next();
        if (op2.type != Tok::kDeclare && op2.type != Tok::kAssign) {
          return Unexpected(op2, "range declaration");
        }
        p->decl.emplace_back(v1.text);
        p->decl.emplace_back(v2.text);
        p->is_assign = op2.type == Tok::kAssign;
      } else if (op.type == Tok::kComma) {
        return Err(op.pos, "too many declarations in " + std::string(ctx));
      } else {
        i_ = save;
      }
    }
    while (true) {
      const Token& t = Peek();
      if (t.type == end) {
        Next();
        break;
      }
      Cmd c;
      if (Status s = Command(&c, end); !s.ok()) return s;
      p->cmds.push_back(std::move(c));
      if (Peek().type == Tok::kPipe) {
        Next();
        if (Peek().type == end) return Err(Peek().pos, "missing command after |");
      }
    }
    if (p->cmds.empty()) return Err(p->pos, "missing value for " + std::string(ctx));
    for (size_t k = 1; k < p->cmds.size(); ++k) {
      Arg::Type a = p->cmds[k].args[0].type;
      if (a == Arg::kBool || a == Arg::kDot || a == Arg::kNil || a == Arg::kInt ||
          a == Arg::kFloat || a == Arg::kString) {
        return Err(p->cmds[k].pos,
                   "non executable command in pipeline stage " + std::to_string(k + 1));
      }
    }
    if (!p->is_assign) {
      for (const auto& v : p->decl) vars_.push_back(v);
    }
    return Status::Ok();
  }

  Status Command(Cmd* c, Tok end) {
    c->pos = Peek().pos;
    size_t last = c->pos;
    while (true) {
      const Token& t = Peek();
      if (t.type == end || t.type == Tok::kPipe) break;
      if (!c->args.empty() && !t.space_before && t.type != Tok::kLeftParen) {
        return Unexpected(t, "operand");
      }
      Arg a;
      if (Status s = Operand(&a); !s.ok()) return s;
      c->args.push_back(std::move(a));
      last = toks_[i_ - 1].pos + toks_[i_ - 1].text.size();
    }
    if (c->args.empty()) return Err(Peek().pos, "empty command");
    c->text = std::string_view(t_->src).substr(c->pos, last - c->pos);
    return Status::Ok();
  }

  Status Operand(Arg* a) {
    const Token& t = Next();
    a->pos = t.pos;
    switch (t.type) {
      case Tok::kIdentifier:
        a->type = Arg::kFunc;
        a->str = std::string(t.text);
        a->func = FindFunc(t.text);
        if (a->func == nullptr) return Err(t.pos, "function \"" + a->str + "\" not defined");
        if (std::find(denied_.begin(), denied_.end(), a->str) != denied_.end()) {
          a->func = Denied(*a->func);
        }
        break;
      case Tok::kDot:
        a->type = Arg::kDot;
        break;
      case Tok::kNil:
        a->type = Arg::kNil;
        break;
      case Tok::kBool:
        a->type = Arg::kBool;
        a->b = t.text == "true";
        break;
      case Tok::kField:
        a->type = Arg::kField;
        a->chain.emplace_back(t.text.substr(1));
        break;
      case Tok::kVariable:
        a->type = Arg::kVar;
        a->str = std::string(t.text);
        if (!HasVar(a->str)) return Err(t.pos, "undefined variable \"" + a->str + "\"");
        break;
      case Tok::kString:
        a->type = Arg::kString;
        if (!Unquote(t.text, &a->str))
          return Err(t.pos, "bad quoted string " + std::string(t.text));
        break;
      case Tok::kRawString:
        a->type = Arg::kString;
        a->str = std::string(t.text.substr(1, t.text.size() - 2));
        break;
      case Tok::kChar: {
        std::string v;
        if (!Unquote(t.text, &v) || v.empty()) return Err(t.pos, "malformed character constant");
        // Exactly one rune (UTF-8 decoded); a \x escape is one byte.
        auto c0 = static_cast<unsigned char>(v[0]);
        size_t n = c0 < 0x80 ? 1 : c0 >= 0xf0 ? 4 : c0 >= 0xe0 ? 3 : c0 >= 0xc0 ? 2 : 1;
        if (v.size() != n) {
          return Err(t.pos, "malformed character constant: " + std::string(t.text));
        }
        int64_t cp = n == 1 ? c0 : c0 & (0x7f >> n);
        for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(v[k]) & 0x3f);
        a->type = Arg::kInt;
        a->i = cp;
        break;
      }
      case Tok::kNumber:
        if (Status s = Number(t, a); !s.ok()) return s;
        break;
      case Tok::kLeftParen: {
        a->type = Arg::kPipe;
        auto p = std::make_shared<Pipe>();
        if (++depth_ > kMaxNesting) return Err(t.pos, "max nesting depth exceeded");
        Status s = ParsePipe(p.get(), "parenthesized pipeline", Tok::kRightParen, false);
        --depth_;
        if (!s.ok()) return s;
        a->pipe = std::move(p);
        break;
      }
      default:
        return Unexpected(t, "operand");
    }
    while (Peek().type == Tok::kField && !Peek().space_before) {
      if (a->type != Arg::kField && a->type != Arg::kVar && a->type != Arg::kPipe) {
        return Err(Peek().pos, "unexpected . after term");
      }
      a->chain.emplace_back(Next().text.substr(1));
    }
    return Status::Ok();
  }

  Status Number(const Token& t, Arg* a) {
    if (!ParseNumber(t.text, a)) {
      return Err(t.pos, "bad number syntax: \"" + std::string(t.text) + "\"");
    }
    return Status::Ok();
  }

  Template::Tree* t_;
  std::vector<Token> toks_;
  size_t i_ = 0;
  std::vector<std::string> vars_{"$"};
  int range_depth_ = 0;
  size_t term_pos_ = 0;  // where the last {{end}} / {{else}} was
  // A stand-in for a denied function: same name and arity, fails when called (as
  // consul-template's function_denylist does).
  const FuncDef* Denied(const FuncDef& real) {
    for (const auto& d : t_->denied) {
      if (d->name == real.name) return d.get();
    }
    t_->denied.push_back(std::make_unique<FuncDef>(
        FuncDef{real.name, real.min, real.max, [](Ctx&, std::vector<Value>&) -> Result<Value> {
                  return Status::Error("function is disabled");
                }}));
    return t_->denied.back().get();
  }

  // Nested blocks and parentheses (parsing and rendering recurse once per level).
  static constexpr int kMaxNesting = 1000;
  int depth_ = 0;
  const std::vector<std::string>& denied_;
};

}  // namespace

Result<Template> Template::Parse(std::string_view text, const ParseOptions& opt) {
  auto tree = std::make_shared<Tree>();
  tree->name = opt.name;
  tree->src = std::string(text);
  if (opt.left_delim.empty() || opt.right_delim.empty()) {
    return Status::Error(opt.name + ":1:1: empty delimiter");
  }
  LexResult lex = Lex(tree->src, opt.left_delim, opt.right_delim);
  if (!lex.error.empty()) {
    return Status::Error(opt.name + ":" + LineCol(tree->src, lex.error_pos) + ": " + lex.error);
  }
  Parser p(tree.get(), std::move(lex.tokens), opt.denied_functions);
  if (Status s = p.Run(); !s.ok()) return s;
  return Template(std::shared_ptr<const Tree>(std::move(tree)));
}

const std::string& Template::name() const {
  return tree_->name;
}

}  // namespace beacon::tmpl
