// Lets doctest print chunklog::outcome<T> in failure messages: the error when
// there is one, "value" otherwise.
#pragma once

#include <chunklog/errors.hpp>

#include <doctest/doctest.h>

#include <sstream>

namespace doctest {
template <typename T>
struct StringMaker<boost::system::result<T, chunklog::error>> {
    static String convert(const boost::system::result<T, chunklog::error>& r) {
        if (r) return "value";
        std::ostringstream os;
        os << r.error();
        return os.str().c_str();
    }
};
}  // namespace doctest
