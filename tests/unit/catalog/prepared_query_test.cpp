// Prepared queries in the catalog: Consul's validation texts, how a name resolves (ID, exact
// name, longest template prefix, catch-all), template rendering, and the execution filter.
#include <doctest.h>

#include "beacon/catalog/hub.h"
#include "beacon/catalog/prepared_query.h"
#include "beacon/catalog/writer.h"

namespace {

using beacon::catalog::CheckQuery;
using beacon::catalog::CompileQueries;
using beacon::catalog::PreparedQuery;
using beacon::catalog::QueryScratch;
using beacon::catalog::QuerySet;
using beacon::catalog::QueryView;
using beacon::catalog::RenderInput;

PreparedQuery Q(std::string id, std::string name, std::string service) {
  PreparedQuery q;
  q.id = std::move(id);
  q.name = std::move(name);
  q.service = std::move(service);
  return q;
}

PreparedQuery Template(std::string id, std::string name, std::string service) {
  PreparedQuery q = Q(std::move(id), std::move(name), std::move(service));
  q.template_type = "name_prefix_match";
  return q;
}

}  // namespace

TEST_CASE("CheckQuery answers with Consul's messages") {
  CHECK(CheckQuery(Q("a", "x", "web")).empty());
  CHECK(CheckQuery(Q("a", "x", "")) ==
        "Invalid prepared query: Must provide a Service name to query");
  CHECK(CheckQuery(Q("a", "", "web")) == "Invalid prepared query: Must be bound to a session");
  PreparedQuery session = Q("a", "", "web");
  session.session = "s1";
  CHECK(CheckQuery(session).empty());
  PreparedQuery ttl = Q("a", "x", "web");
  ttl.dns_ttl = "-5s";
  CHECK(CheckQuery(ttl) == "Invalid prepared query: DNS TTL '-5000000000', must be >=0");
  ttl.dns_ttl = "soon";
  CHECK(CheckQuery(ttl).rfind("Invalid prepared query: Bad DNS TTL 'soon': ", 0) == 0);
  PreparedQuery nn = Q("a", "x", "web");
  nn.failover_nearest_n = -2;
  CHECK(CheckQuery(nn) == "Invalid prepared query: Bad NearestN '-2', must be >= 0");
  PreparedQuery meta = Q("a", "x", "web");
  meta.node_meta["bad key"] = "v";
  CHECK(CheckQuery(meta) ==
        "Invalid prepared query: Couldn't load metadata pair ('bad key', "
        "'v'): Key contains invalid characters");
  PreparedQuery t = Template("a", "x", "web");
  t.template_type = "prefix";
  CHECK(CheckQuery(t) == "failed compiling template: Bad Template.Type 'prefix'");
  t = Template("a", "x", "${match(1}");
  CHECK(CheckQuery(t).rfind("failed compiling template: Bad format '${match(1}' in "
                            "Service.Service: ",
                            0) == 0);
  t = Template("a", "x", "web");
  t.tags = {"${name.other}"};
  CHECK(CheckQuery(t) ==
        "failed compiling template: Bad evaluation for '${name.other}' in "
        "Service.Tags[0]: unknown variable accessed: name.other");
  t.tags = {};
  t.template_regexp = "([";
  CHECK(CheckQuery(t).rfind("failed compiling template: Bad Regexp: ", 0) == 0);
}

TEST_CASE("Resolve: ID, exact name, longest template prefix, then the catch-all") {
  const std::string id1 = "11111111-2222-3333-4444-555555555555";
  const std::string tid = "11111111-2222-3333-4444-000000000000";
  auto set = CompileQueries({Q(id1, "Exact", "db"), Template(tid, "geo-", "${name.suffix}"),
                             Template("t2", "geo-db-", "db-${name.suffix}"),
                             Template("t3", "", "${name.full}")});
  QueryScratch s;
  const QueryView* v = nullptr;
  REQUIRE(set->Resolve(id1, RenderInput{id1, {}}, s, &v) == QuerySet::Found::kOk);
  CHECK(v->service == "db");
  REQUIRE(set->Resolve("EXACT", RenderInput{"EXACT", {}}, s, &v) == QuerySet::Found::kOk);
  CHECK(v->service == "db");
  REQUIRE(set->Resolve("geo-web", RenderInput{"geo-web", {}}, s, &v) == QuerySet::Found::kOk);
  CHECK(v->service == "web");
  REQUIRE(set->Resolve("geo-db-east", RenderInput{"geo-db-east", {}}, s, &v) ==
          QuerySet::Found::kOk);
  CHECK(v->service == "db-east");
  CHECK(v->service_key == "db-east");
  REQUIRE(set->Resolve("Other", RenderInput{"Other", {}}, s, &v) == QuerySet::Found::kOk);
  CHECK(v->service == "Other");
  CHECK(v->service_key == "other");
  CHECK(set->Resolve(tid, RenderInput{tid, {}}, s, &v) == QuerySet::Found::kTemplateById);
  auto none = CompileQueries({Q(id1, "exact", "db")});
  CHECK(none->Resolve("nope", RenderInput{"nope", {}}, s, &v) == QuerySet::Found::kNotFound);
}

TEST_CASE("templates render match groups, tags with ! and RemoveEmptyTags") {
  PreparedQuery t = Template("t", "re-", "${match(2)}");
  t.template_regexp = "^re-(.*?)-([^-]+)$";
  t.tags = {"${match(1)}", "!${match(3)}", "${agent.segment}"};
  t.remove_empty_tags = true;
  t.node_meta["rack"] = "${name.prefix}";
  REQUIRE(CheckQuery(t).empty());
  auto set = CompileQueries({t});
  QueryScratch s;
  const QueryView* v = nullptr;
  REQUIRE(set->Resolve("re-Blue-web", RenderInput{"re-Blue-web", {}}, s, &v) ==
          QuerySet::Found::kOk);
  CHECK(v->service == "web");
  REQUIRE(v->n_must == 1);
  CHECK(v->must[0] == "blue");  // tags compare lower-case
  REQUIRE(v->n_not == 1);
  CHECK(v->must_not[0] == "");  // match(3) does not exist: "" (Consul's safe match)
  REQUIRE(v->n_node_meta == 1);
  CHECK(v->node_meta[0].value == "re-");
  const PreparedQuery r = beacon::catalog::RenderDefinition(*v->query, RenderInput{"re-Blue-web"});
  CHECK(r.service == "web");
  CHECK(r.tags == std::vector<std::string>{"Blue", "!"});
}

TEST_CASE("template Regexp is Go's syntax: (?i), named groups, \\A and \\z") {
  // The service a template named `prefix` with `regexp` and Service `service` resolves `name`
  // to, or why its definition is refused.
  auto service = [](const char* prefix, const char* regexp, const char* svc,
                    const std::string& name) -> std::string {
    PreparedQuery t = Template("t", prefix, svc);
    t.template_regexp = regexp;
    if (std::string why = CheckQuery(t); !why.empty()) return why;
    QueryScratch s;
    const QueryView* v = nullptr;
    auto set = CompileQueries({t});
    if (set->Resolve(name, RenderInput{name, {}}, s, &v) != QuerySet::Found::kOk) return "?";
    return std::string(v->service);
  };
  CHECK(service("geo2-", "(?i)^GEO2-(.*)$", "${match(1)}", "geo2-web") == "web");
  CHECK(service("geo3-", "^(?P<region>geo3)-(.*)$", "${match(2)}", "geo3-db") == "db");
  // Never matched before: ECMAScript's \A is the letter A.
  CHECK(service("geo5-", "\\Ageo5-(.*)\\z", "${match(1)}", "geo5-web") == "web");
  CHECK(service("geo6-", "^geo6-(\\pL+)$", "${match(1)}", "geo6-x") ==
        "failed compiling template: Bad Regexp: Unicode classes (\\p) are not supported");
}

TEST_CASE("Writer::SetPreparedQueries publishes the compiled set") {
  beacon::catalog::SnapshotHub hub;
  beacon::catalog::Writer w(hub, "n1", "dc1", {});
  w.Publish(true);
  REQUIRE(hub.Current()->queries != nullptr);
  CHECK(hub.Current()->queries->empty());
  w.SetPreparedQueries({Q("11111111-2222-3333-4444-555555555555", "q", "web")});
  CHECK(w.dirty());
  w.Publish();
  QueryScratch s;
  const QueryView* v = nullptr;
  CHECK(hub.Current()->queries->Resolve("q", RenderInput{"q", {}}, s, &v) == QuerySet::Found::kOk);
}
