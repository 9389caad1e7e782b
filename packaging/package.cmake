# install() rules and the CPack configuration for the Debian package.
# Included at the end of the top-level CMakeLists.txt (only when urlprobe is the top-level
# project and URLPROBE_PACKAGING is ON). Nothing here adds a build step: `ninja` builds
# exactly what it built before; `cmake --install` and `cpack -G DEB` use these rules.
#
#   cpack -G DEB --config build/CPackConfig.cmake -B OUT   (or packaging/build-deb OUT)

include(GNUInstallDirs)

set(_pkg ${CMAKE_CURRENT_LIST_DIR})

# The man page is gzipped at configure time (Debian installs man pages compressed). A change
# to the source page re-runs the configure step.
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_pkg}/urlprobe.1)
set(_man_dir ${CMAKE_BINARY_DIR}/packaging/man)
file(MAKE_DIRECTORY ${_man_dir})
configure_file(${_pkg}/urlprobe.1 ${_man_dir}/urlprobe.1 COPYONLY)
file(ARCHIVE_CREATE OUTPUT ${_man_dir}/urlprobe.1.gz PATHS ${_man_dir}/urlprobe.1
  FORMAT raw COMPRESSION GZip MTIME 0)

install(TARGETS urlprobe RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${_man_dir}/urlprobe.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${_pkg}/urlprobe.bash-completion
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME urlprobe)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/deploy
  OPTIONAL)

set(CPACK_PACKAGE_NAME urlprobe)
set(CPACK_PACKAGE_VENDOR "urlprobe developers")
set(CPACK_PACKAGE_CONTACT "urlprobe developers")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "concurrent URL prober: can every service URL be reached through every egress path?")
set(CPACK_PACKAGE_DESCRIPTION
  "urlprobe probes every required service URL (e.g. the Microsoft Defender for Endpoint URL
sheet) through every egress path: the environment's proxy, PAC/WPAD, direct, a named proxy,
a command-line proxy or a list of proxies. Each probe does real DNS (c-ares), TCP connect,
a verified TLS handshake (OpenSSL) and reads the HTTP header, and every failure gets a name
(dns_error, connect_timeout, tls_untrusted, tls_intercepted, proxy_auth_required, ...).
Results are JSONL records that can be sharded, merged, diffed and rendered as HTML, JUnit or
Prometheus metrics.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_SOURCE_GENERATOR "")

set(CPACK_DEBIAN_PACKAGE_NAME urlprobe)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "urlprobe developers")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Shared-library dependencies are computed by dpkg-shlibdeps (dpkg-dev) and appended to these:
# the default --public-roots is Debian's Mozilla set, which ca-certificates provides.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "ca-certificates")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

include(CPack)
