#include "http/router.h"

#include <gtest/gtest.h>

#include "http/sse.h"

namespace socle::http {
namespace {

Response ok(Request&) {
  return Response::json(200, "{}");
}

TEST(Router, LiteralAndParameterRoutes) {
  Router r;
  r.add("GET", "/v1/documents/{id}", ok);
  r.add("GET", "/v1/documents/{id}/chunks", ok);
  r.add("GET", "/v1/documents/search", ok);
  r.add("DELETE", "/v1/documents/{id}", ok);

  Match m = r.match("GET", "/v1/documents/42");
  ASSERT_EQ(m.kind, MatchKind::FOUND);
  EXPECT_EQ(m.route->pattern, "/v1/documents/{id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].name, "id");
  EXPECT_EQ(m.params[0].value, "42");

  m = r.match("GET", "/v1/documents/search");
  EXPECT_EQ(m.route->pattern, "/v1/documents/search") << "a literal segment wins";

  m = r.match("GET", "/v1/documents/a%2Fb/chunks");
  ASSERT_EQ(m.kind, MatchKind::FOUND);
  EXPECT_EQ(m.params[0].value, "a/b") << "escapes are decoded after splitting";

  EXPECT_EQ(r.match("GET", "/v1/documents").kind, MatchKind::NOT_FOUND);
  EXPECT_EQ(r.match("GET", "/v1/documents/").kind, MatchKind::NOT_FOUND);
  EXPECT_EQ(r.match("GET", "/v1/documents/%zz").kind, MatchKind::NOT_FOUND);

  m = r.match("POST", "/v1/documents/7");
  EXPECT_EQ(m.kind, MatchKind::METHOD_NOT_ALLOWED);
  EXPECT_EQ(m.allowed, "GET, DELETE");
}

TEST(Router, PathsDeeperThanEveryRouteAndEqualSpecificity) {
  Router r;
  r.add("GET", "/a/{x}/c", ok);
  r.add("GET", "/a/{y}/c/{z}", ok);
  r.add("GET", "/{p}/b/c", ok);
  std::string deep;
  for (int i = 0; i < 40; ++i)
    deep += "/a";
  EXPECT_EQ(r.match("GET", deep).kind, MatchKind::NOT_FOUND);
  EXPECT_EQ(r.match("GET", "/a/b/c/d").route->pattern, "/a/{y}/c/{z}");
  // "/a/{x}/c" wins over "/{p}/b/c": its first segment is literal.
  Match m = r.match("GET", "/a/b/c");
  EXPECT_EQ(m.route->pattern, "/a/{x}/c");
  EXPECT_EQ(m.params[0].name, "x");
  EXPECT_EQ(m.params[0].value, "b");
}

TEST(Message, QueryParameters) {
  Request req;
  req.query = "a=1&b=hello+world&c=%C3%A9&flag&d=%zz";
  EXPECT_EQ(req.query_param("a"), "1");
  EXPECT_EQ(req.query_param("b"), "hello world");
  EXPECT_EQ(req.query_param("c"), "\xC3\xA9");
  EXPECT_EQ(req.query_param("flag"), "");
  EXPECT_FALSE(req.query_param("d").has_value());
  EXPECT_FALSE(req.query_param("missing").has_value());
}

TEST(Message, PercentDecode) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%20b", &out));
  EXPECT_EQ(out, "a b");
  EXPECT_FALSE(percent_decode("%2", &out));
  EXPECT_FALSE(percent_decode("%", &out));
  EXPECT_FALSE(percent_decode("%g0", &out));
}

TEST(Sse, EventsFollowTheSpecification) {
  EXPECT_EQ(sse_event("{\"a\":1}"), "data: {\"a\":1}\n\n");
  EXPECT_EQ(sse_event("one\ntwo", "error"), "event: error\ndata: one\ndata: two\n\n");
}

}  // namespace
}  // namespace socle::http
