// User events: Consul's validation texts, the receiving agent's filters, the index fold and the
// bounded buffer; and the HTTP endpoints over them.
#include <doctest.h>

#include <string>
#include <vector>

#include "beacon/api/event_api.h"
#include "beacon/gossip/user_event.h"

using namespace beacon;
using gossip::EventBuffer;
using gossip::LocalService;
using gossip::UserEvent;

namespace {

UserEvent Named(const std::string& name, const std::string& id = "") {
  UserEvent e;
  e.name = name;
  e.id = id;
  return e;
}

}  // namespace

TEST_CASE("fire validation speaks Consul's words") {
  CHECK(gossip::ValidateUserEvent(Named("deploy")).ok());
  CHECK(gossip::ValidateUserEvent(Named("")).message() == "User event missing name");
  UserEvent e = Named("deploy");
  e.tag_filter = "v1";
  CHECK(gossip::ValidateUserEvent(e).message() ==
        "Cannot provide tag filter without service filter");
  e = Named("deploy");
  e.node_filter = "(";
  CHECK(gossip::ValidateUserEvent(e).message().rfind("Invalid node filter: ", 0) == 0);
  e = Named("deploy");
  e.service_filter = "[";
  CHECK(gossip::ValidateUserEvent(e).message().rfind("Invalid service filter: ", 0) == 0);
}

TEST_CASE("an agent keeps only the events its node and services match") {
  const std::vector<LocalService> services = {{"web-1", {"v1", "canary"}}, {"db", {"primary"}}};
  UserEvent e = Named("deploy");
  CHECK(gossip::ShouldProcess(e, "node-a", services));
  e.node_filter = "node-.";
  CHECK(gossip::ShouldProcess(e, "node-a", services));
  e.node_filter = "^other$";
  CHECK_FALSE(gossip::ShouldProcess(e, "node-a", services));
  e.node_filter.clear();
  e.service_filter = "web";  // searched anywhere in the service id, as Go's MatchString
  CHECK(gossip::ShouldProcess(e, "node-a", services));
  e.tag_filter = "^canary$";
  CHECK(gossip::ShouldProcess(e, "node-a", services));
  e.tag_filter = "primary";  // db has it, but db does not match the service filter
  CHECK_FALSE(gossip::ShouldProcess(e, "node-a", services));
  e.service_filter = "cache";
  e.tag_filter.clear();
  CHECK_FALSE(gossip::ShouldProcess(e, "node-a", services));
  e.service_filter.clear();
  e.version = 2;  // from a newer agent: not understood, not kept
  CHECK_FALSE(gossip::ShouldProcess(e, "node-a", services));
}

TEST_CASE("the event index folds the UUID's halves, and the buffer keeps the last 256") {
  // 0x0123456789abcdef ^ 0xfedcba9876543210
  CHECK(gossip::EventIndex("01234567-89ab-cdef-fedc-ba9876543210") == 0xffffffffffffffffULL);
  CHECK(gossip::EventIndex("not-a-uuid") == 0);
  EventBuffer buf;
  CHECK(buf.Index() == 1);
  CHECK(buf.List().empty());
  for (int i = 0; i < 300; ++i) {
    char id[37];
    std::snprintf(id, sizeof id, "00000000-0000-0000-0000-%012d", i);
    buf.Add(Named(i % 2 == 0 ? "even" : "odd", id));
  }
  const std::vector<UserEvent> all = buf.List();
  REQUIRE(all.size() == EventBuffer::kCapacity);
  CHECK(all.front().id == "00000000-0000-0000-0000-000000000044");  // 300 - 256
  CHECK(all.back().ltime == 300);                                   // Lamport time on arrival
  CHECK(all.front().ltime == 45);
  const std::vector<UserEvent> odd = buf.List("odd");
  CHECK(odd.size() == 128);
  CHECK(buf.Index("odd") == gossip::EventIndex(odd.back().id));
  CHECK(buf.Index("none") == 1);
}

TEST_CASE("fire and list over the router: Consul's shapes, errors and index header") {
  EventBuffer buf;
  http::EventApiOptions opts;
  int fired = 0;
  opts.fire = [&](UserEvent* e) -> Status {
    if (Status st = gossip::ValidateUserEvent(*e); !st.ok()) return st;
    e->id = "0000000" + std::to_string(++fired) + "-0000-4000-8000-000000000000";
    buf.Add(*e);
    return Status::Ok();
  };
  opts.events = &buf;
  http::Router router;
  http::AddEventRoutes(router, opts);
  auto call = [&](const std::string& method, const std::string& path,
                  std::vector<std::pair<std::string, std::string>> query = {},
                  const std::string& body = "") {
    http::Request req;
    req.method = method;
    req.path = path;
    req.query = std::move(query);
    req.body = body;
    http::Response resp;
    router.Dispatch(req, resp);
    return resp;
  };
  http::Response r = call("PUT", "/v1/event/fire/deploy", {{"node", "n."}}, "v2");
  REQUIRE(r.status == 200);
  CHECK(r.body ==
        R"({"ID":"00000001-0000-4000-8000-000000000000","Name":"deploy","Payload":"djI=",)"
        R"("NodeFilter":"n.","ServiceFilter":"","TagFilter":"","Version":1,"LTime":0})");
  r = call("PUT", "/v1/event/fire/other");
  CHECK(r.body.find(R"("Payload":null)") != std::string::npos);
  CHECK(call("PUT", "/v1/event/fire/").status == 400);
  CHECK(call("PUT", "/v1/event/fire/").body == "Missing name\n");
  r = call("PUT", "/v1/event/fire/x", {{"tag", "a"}});
  CHECK(r.status == 500);
  CHECK(r.body == "Cannot provide tag filter without service filter\n");
  CHECK(call("PUT", "/v1/event/fire/x", {{"dc", "dc9"}}).status == 500);
  r = call("GET", "/v1/event/list", {{"name", "deploy"}});
  REQUIRE(r.status == 200);
  CHECK(r.body.find(R"("Name":"deploy")") != std::string::npos);
  CHECK(r.body.find(R"("Name":"other")") == std::string::npos);
  CHECK(r.body.find(R"("LTime":1)") != std::string::npos);
  REQUIRE(r.Header("X-Consul-Index") != nullptr);
  CHECK(*r.Header("X-Consul-Index") ==
        std::to_string(gossip::EventIndex("00000001-0000-4000-8000-000000000000")));
  r = call("GET", "/v1/event/list", {{"name", "nothing"}});
  CHECK(r.body == "[]");
  CHECK(*r.Header("X-Consul-Index") == "1");
  CHECK(call("GET", "/v1/event/list", {{"index", "x"}}).status == 400);
}
