/* Link stubs, only for the static nscope binary: CMakeLists.txt puts them after libdbus.a on
 * the link line. libpcap's archive carries its D-Bus capture module, and libdbus's archive
 * calls two libsystemd functions for socket activation; Debian ships no static libsystemd.
 * nscope uses libpcap only to compile filters: it never opens a D-Bus capture or server, so
 * these answer "no sockets were passed", as libsystemd does when a process was not
 * socket-activated. */
int sd_listen_fds(int unset_environment)
{
	(void)unset_environment;
	return 0;
}

int sd_is_socket(int fd, int family, int type, int listening)
{
	(void)fd;
	(void)family;
	(void)type;
	(void)listening;
	return 0;
}
