// How a failure becomes the command line's exit status and its one line on stderr (docs/definitions.md §8):
// bad usage or bad input (UsageError, InputError) -> 2, "error: ..."; anything else is a broken invariant,
// i.e. a bug -> 1, "internal error: ...". Header-only so that tests check the mapping itself.
#pragma once
#include <exception>
#include <string>

#include "apps/args.h"
#include "tensor/error.h"

namespace ha::app {

struct Failure {
  int status;
  std::string line;  // what stderr gets (without the newline)
};

inline Failure failure_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const UsageError& u) {
    return {2, std::string("error: ") + u.what()};
  } catch (const InputError& i) {
    return {2, std::string("error: ") + i.what()};
  } catch (const std::exception& x) {
    return {1, std::string("internal error (a bug in hattn; please report it with the command): ") + x.what()};
  } catch (...) {
    return {1, "internal error (a bug in hattn; please report it with the command): unknown exception"};
  }
}

}  // namespace ha::app
