// Template::Parse/Render (placeholder until the parser and executor land on this branch).
#include "beacon/tmpl/template.h"

namespace beacon::tmpl {

struct Template::Tree {
  std::string name;
};

Result<Template> Template::Parse(std::string_view, const ParseOptions& opt) {
  return Status::Error(opt.name + ":1:1: template engine not built yet");
}

Result<Rendered> Template::Render(Data&, const Env&) const {
  return Status::Error(tree_->name + ": template engine not built yet");
}

const std::string& Template::name() const { return tree_->name; }

}  // namespace beacon::tmpl
