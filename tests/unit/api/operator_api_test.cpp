// /v1/operator/keyring against a fake KeyringApi: the method picks the operation, the body's
// Key is passed on, the list is Consul's JSON, failures are 500 with Consul's multierror text.
#include <doctest.h>

#include "beacon/api/operator_api.h"

namespace beacon::http {
namespace {

struct FakeKeyring : KeyringApi {
  Op op = Op::kList;
  std::string key;
  KeyringResult answer;
  void KeyringOp(Op o, std::string k, KeyringDone done) override {
    op = o;
    key = std::move(k);
    done(answer);
  }
};

Response Send(Router& router, const std::string& method, const std::string& body = "") {
  Request req;
  req.method = method;
  req.path = "/v1/operator/keyring";
  req.body = body;
  Response resp;
  router.Dispatch(req, resp);
  return resp;
}

TEST_CASE("operator keyring: list JSON, writes by method with the body's key") {
  FakeKeyring fake;
  Router router;
  AddOperatorRoutes(router, &fake, "dc1", false);
  fake.answer.keys = {{"a2V5MQ==", 3}, {"a2V5Mg==", 2}};
  fake.answer.primary_keys = {{"a2V5MQ==", 3}};
  fake.answer.num_nodes = 3;
  fake.answer.num_resp = 3;
  Response r = Send(router, "GET");
  CHECK(r.status == 200);
  CHECK(fake.op == KeyringApi::Op::kList);
  CHECK(r.body ==
        R"([{"WAN":false,"Datacenter":"dc1","Segment":"","Keys":{"a2V5MQ==":3,"a2V5Mg==":2},)"
        R"("PrimaryKeys":{"a2V5MQ==":3},"NumNodes":3}])");

  const std::pair<const char*, KeyringApi::Op> writes[] = {{"POST", KeyringApi::Op::kInstall},
                                                           {"PUT", KeyringApi::Op::kUse},
                                                           {"DELETE", KeyringApi::Op::kRemove}};
  for (const auto& [method, op] : writes) {
    Response w = Send(router, method, R"({"Key":"a2V5Mg=="})");
    CHECK(w.status == 200);
    CHECK(w.body.empty());
    CHECK(fake.op == op);
    CHECK(fake.key == "a2V5Mg==");
  }
  Response bad = Send(router, "POST", "{nope");
  CHECK(bad.status == 400);
  CHECK(bad.body.rfind("Request decode failed: ", 0) == 0);
}

TEST_CASE("operator keyring: node failures are Consul's multierror; no gossip is 500") {
  FakeKeyring fake;
  Router router;
  AddOperatorRoutes(router, &fake, "dc1", false);
  fake.answer.num_nodes = 2;
  fake.answer.num_resp = 2;
  fake.answer.num_err = 2;
  fake.answer.messages = {{"n1", "Removing the primary key is not allowed"},
                          {"n2", "Removing the primary key is not allowed"}};
  fake.answer.error = "2/2 nodes reported failure";
  Response r = Send(router, "DELETE", R"({"Key":"a2V5MQ=="})");
  CHECK(r.status == 500);
  CHECK(r.body ==
        "3 errors occurred:\n\t* dc1 (LAN) error: 2/2 nodes reported failure\n\t* n1: Removing "
        "the primary key is not allowed\n\t* n2: Removing the primary key is not allowed\n\n\n");
  fake.answer = {};
  fake.answer.request_error = "illegal base64 data at input byte 3";
  r = Send(router, "POST", R"({"Key":"abc!"})");
  CHECK(r.status == 500);
  CHECK(r.body == "illegal base64 data at input byte 3\n");

  Router none;
  AddOperatorRoutes(none, nullptr, "dc1", false);
  CHECK(Send(none, "GET").status == 500);
  CHECK(Send(none, "GET").body == "gossip is not enabled on this agent\n");
}

}  // namespace
}  // namespace beacon::http
