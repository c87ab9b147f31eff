// GET /v1/models: the models this server serves, in OpenAI's list shape. No model registry
// exists yet (the Gateway and Serving issues add it), so the list is empty.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "api/auth.h"

namespace socle::api {

void register_model_routes(http::Router& router, Services& s) {
  router.add("GET", "/v1/models",
             with_key(s, "", [](http::Request&, const tenancy::Principal&) -> Result<http::Response> {
               boost::json::object list{{"object", "list"}, {"data", boost::json::array()}};
               return json_response(200, list);
             }));
}

}  // namespace socle::api
