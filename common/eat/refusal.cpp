#include "common/eat/refusal.hpp"

namespace monsys::eat {

const char* to_string(Refusal reason) {
    switch (reason) {
        case Refusal::too_large:
            return "too_large";
        case Refusal::malformed:
            return "malformed";
        case Refusal::bad_encoding:
            return "bad_encoding";
        case Refusal::missing_signature:
            return "missing_signature";
        case Refusal::bad_header:
            return "bad_header";
        case Refusal::duplicate_key:
            return "duplicate_key";
        case Refusal::bad_alg:
            return "bad_alg";
        case Refusal::bad_typ:
            return "bad_typ";
        case Refusal::crit_unsupported:
            return "crit_unsupported";
        case Refusal::embedded_key:
            return "embedded_key";
        case Refusal::unknown_kid:
            return "unknown_kid";
        case Refusal::bad_signature:
            return "bad_signature";
        case Refusal::bad_payload:
            return "bad_payload";
        case Refusal::wrong_issuer:
            return "wrong_issuer";
        case Refusal::wrong_audience:
            return "wrong_audience";
        case Refusal::wrong_agent:
            return "wrong_agent";
        case Refusal::bad_jti:
            return "bad_jti";
        case Refusal::bad_time_claims:
            return "bad_time_claims";
        case Refusal::expired:
            return "expired";
        case Refusal::not_yet_valid:
            return "not_yet_valid";
        case Refusal::issued_in_future:
            return "issued_in_future";
        case Refusal::lifetime_too_long:
            return "lifetime_too_long";
        case Refusal::insufficient_level:
            return "insufficient_level";
        case Refusal::wrong_action:
            return "wrong_action";
        case Refusal::no_otp:
            return "no_otp";
        case Refusal::bad_app:
            return "bad_app";
        case Refusal::bad_identifier:
            return "bad_identifier";
        case Refusal::bad_restart_command:
            return "bad_restart_command";
        case Refusal::bad_reason:
            return "bad_reason";
        case Refusal::app_mismatch:
            return "app_mismatch";
        case Refusal::replayed:
            return "replayed";
        case Refusal::replay_store_error:
            return "replay_store_error";
        case Refusal::replay_store_full:
            return "replay_store_full";
        case Refusal::bad_settings:
            return "bad_settings";
    }
    return "unknown";
}

}  // namespace monsys::eat
