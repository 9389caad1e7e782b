// Boost.URL and Boost.JSON from source, instrumented like the rest of the fuzz build.
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
