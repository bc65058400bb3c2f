// Template::Render: walks the parse tree (ast.h) the way Go's text/template executes it.
#include "ast.h"
#include "funcs.h"
#include "lex.h"

namespace beacon::tmpl {
namespace {

constexpr int kMaxDepth = 10000;

enum class Flow { kNormal, kBreak, kContinue };

class Exec {
 public:
  Exec(const Template::Tree& t, Ctx& ctx) : t_(t), ctx_(ctx) {}

  Status Run(std::string* out) {
    out_ = out;
    vars_.emplace_back("$", Value());
    Flow f = Flow::kNormal;
    return Walk(t_.root, Value(), &f);
  }

 private:
  Status Err(size_t pos, std::string_view at, const std::string& msg) const {
    std::string ctx(at.substr(0, 20));
    if (at.size() > 20) ctx += "...";
    return Status::Error(t_.name + ":" + LineCol(t_.src, pos) + ": executing \"" + t_.name +
                         "\" at <" + ctx + ">: " + msg);
  }

  Status Walk(const std::vector<Node>& list, const Value& dot, Flow* flow) {
    for (const Node& n : list) {
      if (Status s = WalkNode(n, dot, flow); !s.ok()) return s;
      if (*flow != Flow::kNormal) return Status::Ok();
    }
    return Status::Ok();
  }

  Status WalkNode(const Node& n, const Value& dot, Flow* flow) {
    switch (n.type) {
      case Node::kText:
        out_->append(n.text);
        return Status::Ok();
      case Node::kAction: {
        auto v = EvalPipe(*n.pipe, dot);
        if (!v.ok()) return v.status();
        if (!n.pipe->decl.empty()) return Status::Ok();
        // Go digs a nil interface{} down to "no value"; a typed nil pointer prints <nil>.
        if (v->kind() == Kind::kNil && !v->typed_nil()) {
          out_->append("<no value>");
        } else {
          AppendGo(*out_, *v, false, -1);
        }
        return Status::Ok();
      }
      case Node::kIf:
      case Node::kWith: {
        size_t mark = vars_.size();
        auto v = EvalPipe(*n.pipe, dot);
        if (!v.ok()) return v.status();
        Status s;
        if (Truth(*v)) {
          s = Walk(n.list, n.type == Node::kWith ? *v : dot, flow);
        } else if (!n.else_list.empty()) {
          s = Walk(n.else_list, dot, flow);
        }
        vars_.resize(mark);
        return s;
      }
      case Node::kRange: {
        size_t mark = vars_.size();
        Status s = Range(n, dot, flow);
        vars_.resize(mark);
        return s;
      }
      case Node::kBreak:
        *flow = Flow::kBreak;
        return Status::Ok();
      case Node::kContinue:
        *flow = Flow::kContinue;
        return Status::Ok();
      case Node::kTemplate: {
        const std::vector<Node>* body = t_.Find(n.name);
        if (body == nullptr) return Err(n.pos, "template", "no such template \"" + n.name + "\"");
        Value d;
        if (n.pipe) {
          auto v = EvalPipe(*n.pipe, dot);
          if (!v.ok()) return v.status();
          d = *v;
        }
        if (++depth_ > kMaxDepth) return Err(n.pos, "template", "exceeded maximum template depth");
        std::vector<std::pair<std::string, Value>> saved;
        saved.swap(vars_);
        vars_.emplace_back("$", d);
        Flow f = Flow::kNormal;
        Status s = Walk(*body, d, &f);
        vars_.swap(saved);
        --depth_;
        return s;
      }
    }
    return Status::Ok();
  }

  Status Range(const Node& n, const Value& dot, Flow* flow) {
    auto v = EvalPipe(*n.pipe, dot);
    if (!v.ok()) return v.status();
    const Pipe& p = *n.pipe;
    bool any = false;
    auto one = [&](const Value& key, const Value& elem) -> Status {
      any = true;
      if (!p.decl.empty()) {
        const Value& first = p.decl.size() == 2 ? key : elem;
        SetVar(p.decl[0], first);
        if (p.decl.size() == 2) SetVar(p.decl[1], elem);
      }
      size_t mark = vars_.size();
      Flow f = Flow::kNormal;
      Status s = Walk(n.list, elem, &f);
      vars_.resize(mark);
      if (f == Flow::kBreak) return Status::Error("\x01break");
      return s;
    };
    Status s;
    switch (v->kind()) {
      case Kind::kList: {
        const auto& items = v->list().items;
        for (size_t i = 0; i < items.size() && s.ok(); ++i) {
          s = one(Value::Int(static_cast<int64_t>(i)), items[i]);
        }
        break;
      }
      case Kind::kMap:
        for (const auto& [k, e] : v->map().entries) {
          s = one(Value::Str(k), e);
          if (!s.ok()) break;
        }
        break;
      case Kind::kInt:
        if (p.decl.size() > 1) {
          return Err(n.pos, "range", "can't use range over int with 2 variables");
        }
        for (int64_t i = 0; i < v->i() && s.ok(); ++i) s = one(Value::Int(i), Value::Int(i));
        break;
      case Kind::kInvalid:
      case Kind::kNil:
        break;
      default:
        return Err(n.pos, "range", "range can't iterate over " + GoString(*v));
    }
    if (!s.ok() && s.message() != "\x01break") return s;
    if (!any && !n.else_list.empty()) return Walk(n.else_list, dot, flow);
    return Status::Ok();
  }

  bool SetVar(const std::string& name, const Value& v) {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].first == name) {
        vars_[i].second = v;
        return true;
      }
    }
    return false;
  }
  const Value* Var(const std::string& name) const {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].first == name) return &vars_[i].second;
    }
    return nullptr;
  }

  Result<Value> EvalPipe(const Pipe& p, const Value& dot) {
    Value v;
    bool have = false;
    for (const Cmd& c : p.cmds) {
      auto r = EvalCmd(c, dot, have ? &v : nullptr);
      if (!r.ok()) return r;
      v = std::move(*r);
      have = true;
    }
    for (const auto& name : p.decl) {
      if (p.is_assign) {
        if (!SetVar(name, v)) return Err(p.pos, name, "undefined variable: " + name);
      } else {
        vars_.emplace_back(name, v);
      }
    }
    return v;
  }

  Result<Value> EvalCmd(const Cmd& c, const Value& dot, const Value* final) {
    const Arg& head = c.args[0];
    bool extra = c.args.size() > 1 || final != nullptr;
    switch (head.type) {
      case Arg::kFunc:
        return Call(head, c, dot, final);
      case Arg::kNil:
        return Err(c.pos, c.text, "nil is not a command");
      case Arg::kField:
      case Arg::kVar:
      case Arg::kPipe:
        if (!head.chain.empty() && extra) return FieldWithArgs(c, dot);
        if (extra) {
          return Err(c.pos, c.text,
                     "can't give argument to non-function " +
                         std::string(c.text.substr(0, c.text.find(' '))));
        }
        return EvalArg(head, c, dot);
      default:
        if (extra) {
          return Err(c.pos, c.text,
                     "can't give argument to non-function " +
                         std::string(c.text.substr(0, c.text.find(' '))));
        }
        return EvalArg(head, c, dot);
    }
  }

  // consul-template's executeTemplate NAME [DOT]: a {{define}}d template rendered to a string.
  Result<Value> ExecuteTemplate(const Cmd& c, const std::vector<Value>& args) {
    auto name = ArgString(args[0]);
    if (!name.ok()) {
      return Err(c.pos, c.text, "error calling executeTemplate: " + name.status().message());
    }
    const std::vector<Node>* body = t_.Find(*name);
    if (body == nullptr) {
      return Err(c.pos, c.text,
                 "error calling executeTemplate: template: no template \"" + *name +
                     "\" associated with template \"" + t_.name + "\"");
    }
    if (++depth_ > kMaxDepth) return Err(c.pos, c.text, "exceeded maximum template depth");
    Value d = args.size() > 1 ? args[1] : Value();
    std::string out;
    std::string* saved_out = out_;
    out_ = &out;
    std::vector<std::pair<std::string, Value>> saved;
    saved.swap(vars_);
    vars_.emplace_back("$", d);
    Flow f = Flow::kNormal;
    Status s = Walk(*body, d, &f);
    vars_.swap(saved);
    out_ = saved_out;
    --depth_;
    if (!s.ok()) return s;
    return Value::Str(std::move(out));
  }

  // A field chain given arguments: Go evaluates the receiver, then refuses (consul-template's
  // values have no methods a template can call); nil data gives no value.
  Result<Value> FieldWithArgs(const Cmd& c, const Value& dot) {
    const Arg& head = c.args[0];
    auto recv = EvalArg(head, c, dot, head.chain.size() - 1);
    if (!recv.ok()) return recv;
    if (!recv->valid()) return Value();
    const std::string& name = head.chain.back();
    auto f = Field(*recv, name, head, c);
    if (!f.ok()) return f;
    return Err(c.pos, c.text, name + " has arguments but cannot be invoked as function");
  }

  // The argument's value, applying the first `chain_len` fields of its chain (all by default).
  Result<Value> EvalArg(const Arg& a, const Cmd& c, const Value& dot,
                        size_t chain_len = static_cast<size_t>(-1)) {
    Value v;
    switch (a.type) {
      case Arg::kDot:
        return dot;
      case Arg::kNil:
        return Value::Nil();
      case Arg::kBool:
        return Value::Bool(a.b);
      case Arg::kInt:
        return Value::Int(a.i);
      case Arg::kFloat:
        return Value::Float(a.f);
      case Arg::kString:
        return Value::Str(a.str);
      case Arg::kFunc:
        return Call(a, c, dot, nullptr, /*alone=*/true);
      case Arg::kField:
        v = dot;
        break;
      case Arg::kVar: {
        const Value* p = Var(a.str);
        if (p == nullptr) return Err(a.pos, c.text, "undefined variable: " + a.str);
        v = *p;
        break;
      }
      case Arg::kPipe: {
        size_t mark = vars_.size();
        auto r = EvalPipe(*a.pipe, dot);
        vars_.resize(mark);
        if (!r.ok()) return r;
        v = std::move(*r);
        break;
      }
    }
    for (size_t k = 0; k < a.chain.size() && k < chain_len; ++k) {
      auto r = Field(v, a.chain[k], a, c);
      if (!r.ok()) return r;
      v = std::move(*r);
    }
    return v;
  }

  Result<Value> Field(const Value& recv, const std::string& name, const Arg& a, const Cmd& c) {
    switch (recv.kind()) {
      case Kind::kRecord: {
        int i = recv.rec().type->Field(name);
        if (i < 0) {
          return Err(a.pos, c.text, "can't evaluate field " + name + " in type " + recv.GoType());
        }
        return recv.rec().fields[static_cast<size_t>(i)];
      }
      case Kind::kMap: {
        const Value* v = recv.map().Find(name);
        return v ? *v : Value();
      }
      case Kind::kInvalid:  // nil data: Go's default missingkey option gives no value
        return Value();
      case Kind::kNil:
        return Err(a.pos, c.text,
                   "nil pointer evaluating " +
                       (recv.typed_nil() ? recv.GoType() : std::string("interface {}")) + "." +
                       name);
      default:
        return Err(a.pos, c.text, "can't evaluate field " + name + " in type " + recv.GoType());
    }
  }

  // Calls c.args[0]'s function with c.args[1..] (none when `alone`: a function used as an
  // argument) and the piped value.
  Result<Value> Call(const Arg& fn, const Cmd& c, const Value& dot, const Value* final,
                     bool alone = false) {
    const FuncDef& f = *fn.func;
    size_t argc = alone ? 1 : c.args.size();
    int n = static_cast<int>(argc) - 1 + (final ? 1 : 0);
    if (n < f.min || (f.max >= 0 && n > f.max)) {
      std::string want = f.max < 0 ? "at least " + std::to_string(f.min) : std::to_string(f.min);
      if (f.max > f.min) want = std::to_string(f.min) + " to " + std::to_string(f.max);
      return Err(c.pos, c.text,
                 "wrong number of args for " + std::string(f.name) + ": want " + want + " got " +
                     std::to_string(n));
    }
    bool is_and = f.name == "and", is_or = f.name == "or";
    std::vector<Value> args;
    args.reserve(static_cast<size_t>(n));
    for (size_t i = 1; i < argc; ++i) {
      auto v = EvalArg(c.args[i], c, dot);
      if (!v.ok()) return v;
      if ((is_and && !Truth(*v)) || (is_or && Truth(*v))) return v;
      args.push_back(std::move(*v));
    }
    if (final) args.push_back(*final);
    if (is_and || is_or) return args.back();
    if (f.name == "executeTemplate") return ExecuteTemplate(c, args);
    auto r = f.fn(ctx_, args);
    if (!r.ok())
      return Err(c.pos, c.text,
                 "error calling " + std::string(f.name) + ": " + r.status().message());
    return r;
  }

  const Template::Tree& t_;
  Ctx& ctx_;
  std::string* out_ = nullptr;
  std::vector<std::pair<std::string, Value>> vars_;
  int depth_ = 0;
};

}  // namespace

const Fetch* Ctx::Get(const std::string& path) {
  if (seen.insert(path).second) deps.push_back(path);
  const Fetch* f = data.Get(path);
  if (f == nullptr) missing = true;
  return f;
}

Result<Rendered> Template::Render(Data& data, const Env& env) const {
  Ctx ctx(data, env);
  Rendered r;
  Status s = Exec(*tree_, ctx).Run(&r.output);
  r.deps = std::move(ctx.deps);
  r.complete = !ctx.missing;
  // Errors while data is still missing come from the empty stand-in values (consul-template
  // would render those too); the runner fetches the deps and renders again.
  if (!s.ok() && r.complete) return s;
  return r;
}

}  // namespace beacon::tmpl
