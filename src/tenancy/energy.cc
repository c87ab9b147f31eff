#include "tenancy/energy.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace socle::tenancy {
namespace {

constexpr double JOULES_PER_KWH = 3.6e6;
constexpr double PARAMS_PER_BILLION = 1e9;
// A forward pass does one multiply and one add per weight per token.
constexpr double FLOPS_PER_PARAM_PER_TOKEN = 2;

}  // namespace

Status check_energy_settings(const EnergySettings& s) {
  if (!std::isfinite(s.joules_per_flop) || s.joules_per_flop <= 0) {
    return invalid_argument(
        "energy.joules_per_flop must be a positive number (default 2.5e-12), "
        "not " +
            std::to_string(s.joules_per_flop),
        "energy.joules_per_flop");
  }
  if (!std::isfinite(s.pue) || s.pue < 1) {
    return invalid_argument(
        "energy.pue must be at least 1 (default 1.2), not " + std::to_string(s.pue), "energy.pue");
  }
  if (!std::isfinite(s.grid_gco2_per_kwh) || s.grid_gco2_per_kwh < 0) {
    return invalid_argument("energy.grid_gco2_per_kwh must be 0 or more (default 56), not " +
                                std::to_string(s.grid_gco2_per_kwh),
                            "energy.grid_gco2_per_kwh");
  }
  return Status::ok();
}

double inference_flops(double params_billions, int64_t prompt_tokens, int64_t completion_tokens) {
  if (!std::isfinite(params_billions) || params_billions <= 0) return 0;
  // Each count is clamped on its own: a negative count is a bug upstream, not a refund.
  double tokens = static_cast<double>(std::max<int64_t>(prompt_tokens, 0)) +
                  static_cast<double>(std::max<int64_t>(completion_tokens, 0));
  return FLOPS_PER_PARAM_PER_TOKEN * params_billions * PARAMS_PER_BILLION * tokens;
}

EnergyEstimate estimate_energy(double params_billions, int64_t prompt_tokens,
                               int64_t completion_tokens, const EnergySettings& s) {
  double flops = inference_flops(params_billions, prompt_tokens, completion_tokens);
  EnergyEstimate e;
  e.kwh = flops * s.joules_per_flop * s.pue / JOULES_PER_KWH;
  e.co2_g = e.kwh * s.grid_gco2_per_kwh;
  return e;
}

}  // namespace socle::tenancy
