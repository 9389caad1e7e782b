# install() rules and the CPack configuration for the Debian package.
# Included at the end of the top-level CMakeLists.txt (only when urlprobe is the top-level
# project and URLPROBE_PACKAGING is ON). Nothing here adds a build step: `ninja` builds
# exactly what it built before; `cmake --install` and `cpack -G DEB` use these rules.
#
#   cpack -G DEB --config build/CPackConfig.cmake -B OUT   (or packaging/build-deb OUT)

include(GNUInstallDirs)

set(_pkg ${CMAKE_CURRENT_LIST_DIR})
set(_deb ${_pkg}/debian)
set(URLPROBE_DEB_RELEASE 1)
set(URLPROBE_DEB_MAINTAINER "urlprobe developers <maintainers@users.noreply.r-seed-e4c89286.example>"
  CACHE STRING "Maintainer of the .deb (Name <address>)")
# Sources of the man page and the completion; a generator of either sets these before this file
# is included. Read at install time, so they may be written by a build step.
if(NOT DEFINED URLPROBE_MAN_PAGE)
  set(URLPROBE_MAN_PAGE ${_pkg}/urlprobe.1)
endif()
if(NOT DEFINED URLPROBE_BASH_COMPLETION)
  set(URLPROBE_BASH_COMPLETION ${_pkg}/urlprobe.bash-completion)
endif()
# Debian's default for bookworm; systemd's own default would be ${prefix}/lib/systemd/system.
set(URLPROBE_SYSTEMD_UNIT_DIR /lib/systemd/system CACHE PATH "Where the systemd units are installed")

# The changelog's newest entry names the package version: a release bump without a changelog
# entry would ship a changelog that lies, so it stops the configure step.
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_deb}/changelog)
file(STRINGS ${_deb}/changelog _top LIMIT_COUNT 1)
if(NOT _top MATCHES "^urlprobe \\(${PROJECT_VERSION}-${URLPROBE_DEB_RELEASE}\\) ")
  message(FATAL_ERROR "packaging/debian/changelog: the newest entry is '${_top}'; add an entry for "
    "${PROJECT_VERSION}-${URLPROBE_DEB_RELEASE} (the project version and URLPROBE_DEB_RELEASE)")
endif()

# Debian wants man pages and changelogs compressed with gzip -9n: best compression and no name
# or timestamp in the header, so a rebuild gives the same bytes. gzip is Essential in Debian.
set(_gz ${CMAKE_BINARY_DIR}/packaging/gz)
function(urlprobe_install_gzipped src name destination)
  install(CODE "file(MAKE_DIRECTORY \"${_gz}\")
    execute_process(COMMAND gzip -9n -c \"${src}\" OUTPUT_FILE \"${_gz}/${name}.gz\"
      COMMAND_ERROR_IS_FATAL ANY)")
  install(FILES ${_gz}/${name}.gz DESTINATION ${destination})
endfunction()

install(TARGETS urlprobe RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# CPACK_STRIP_FILES strips the symbols; like dh_strip, also drop .comment, which holds only the
# compiler's version strings (lintian: binary-has-unneeded-section).
if(CMAKE_STRIP)
  install(CODE "if(CMAKE_INSTALL_DO_STRIP)
      execute_process(COMMAND \"${CMAKE_STRIP}\" --remove-section=.comment
        \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/urlprobe\" COMMAND_ERROR_IS_FATAL ANY)
    endif()")
endif()
urlprobe_install_gzipped(${URLPROBE_MAN_PAGE} urlprobe.1 ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${URLPROBE_BASH_COMPLETION}
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME urlprobe)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${_deb}/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
urlprobe_install_gzipped(${_deb}/changelog changelog.Debian ${CMAKE_INSTALL_DOCDIR})
install(FILES ${_deb}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
  RENAME urlprobe)
# The nightly sweep's units, as units; the package enables neither (packaging/debian/postinst).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/urlprobe.service
  ${PROJECT_SOURCE_DIR}/deploy/systemd/urlprobe.timer DESTINATION ${URLPROBE_SYSTEMD_UNIT_DIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/deploy
  PATTERN systemd EXCLUDE)

set(CPACK_PACKAGE_NAME urlprobe)
set(CPACK_PACKAGE_VENDOR "urlprobe developers")
set(CPACK_PACKAGE_CONTACT "${URLPROBE_DEB_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Debian limits the synopsis to 80 characters and description lines to 80 columns.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "concurrent URL prober: is every service URL reachable through every egress path")
set(CPACK_PACKAGE_DESCRIPTION
  "urlprobe probes every required service URL (e.g. the Microsoft Defender for
Endpoint URL sheet) through every egress path: the environment's proxy,
PAC/WPAD, direct, a named proxy, a command-line proxy or a list of proxies.
Each probe does real DNS (c-ares), TCP connect, a verified TLS handshake
(OpenSSL) and reads the HTTP header, and every failure gets a name (dns_error,
connect_timeout, tls_untrusted, tls_intercepted, proxy_auth_required, ...).
Results are JSONL records that can be sharded, merged, diffed and rendered as
HTML, JUnit or Prometheus metrics.
.
The nightly sweep comes as the systemd units urlprobe.service and
urlprobe.timer, not enabled by default.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The units go to an absolute path outside the prefix: staged under DESTDIR, not onto this host.
set(CPACK_SET_DESTDIR ON)
# With DESTDIR, CPack installs under CPACK_INSTALL_PREFIX (else the /usr/local of the build).
set(CPACK_INSTALL_PREFIX ${CPACK_PACKAGING_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_SOURCE_GENERATOR "")

set(CPACK_DEBIAN_PACKAGE_NAME urlprobe)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${URLPROBE_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${URLPROBE_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Shared-library dependencies are computed by dpkg-shlibdeps (dpkg-dev) and appended to these:
# the default --public-roots is Debian's Mozilla set, which ca-certificates provides.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "ca-certificates")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${_deb}/postinst ${_deb}/prerm ${_deb}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
