/* agent/agent_config.c: the Makefile links unit tests with libcommon.a only, so the agent's
 * config parser is compiled into this test directly. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent_config.h"
#include "strutil.h"
#include "unit_files.h"
#include "banned.h"

static const char *const env_vars[] = {
	"ASGSWAP_REGISTRY",       "ASGSWAP_PORTS",         "ASGSWAP_HEALTH_TIMEOUT",
	"ASGSWAP_LIFECYCLE_HOOK", "ASGSWAP_REGISTRY_AUTH", "DOCKER_HOST",
	"ASGSWAP_CONTAINER_NAME",
};

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(env_vars); i++)
		unsetenv(env_vars[i]);
	return 0;
}

static struct agent_config *load(const char *text, int want, const char *want_error)
{
	_cleanup_free_ char *path = WRITE_TEMP(text), *error = NULL;
	struct agent_config *c = NULL;
	int r = agent_config_load(path, true, &c, &error);

	unlink(path);
	assert_int_equal(r, want);
	if (want_error) {
		_cleanup_free_ char *expected = NULL;

		assert_non_null(error);
		if (startswith(want_error, ":")) {
			assert_true(asprintf(&expected, "%s%s", path, want_error) > 0);
			assert_string_equal(error, expected);
		} else
			assert_string_equal(error, want_error);
	}
	return c;
}

static void test_defaults(void **state)
{
	_cleanup_free_ char *error = NULL;
	struct agent_config *c = NULL;

	(void)state;
	assert_int_equal(agent_config_load("/nonexistent/agent.conf", false, &c, &error), 0);
	assert_null(c->registry);
	assert_string_equal(c->container_name, "app");
	assert_int_equal(c->n_ports, 0);
	assert_null(c->env_file);
	assert_string_equal(c->restart, "always");
	assert_string_equal(c->network, "bridge");
	assert_null(c->health_url);
	assert_int_equal(c->health_timeout, 300);
	assert_int_equal(c->tag_timeout, 600);
	assert_int_equal(c->unhealthy_grace, 60);
	assert_string_equal(c->lifecycle_hook, "auto");
	assert_string_equal(c->docker_socket, "/var/run/docker.sock");
	assert_int_equal(c->registry_auth, REGISTRY_AUTH_AUTO);
	assert_string_equal(c->name_tag, "docker:image:name");
	assert_string_equal(c->version_tag, "docker:image:version");
	agent_config_free(c);

	/* Named on the command line, it must exist. */
	assert_int_equal(agent_config_load("/nonexistent/agent.conf", true, &c, &error), -ENOENT);
	assert_non_null(error);
}

static void test_file(void **state)
{
	struct agent_config *c;

	(void)state;
	c = load("# comment\n\n  registry = 123456789012.dkr.ecr.eu-west-1.amazonaws.com  \n"
	         "ports = 80:8080, 53:53/udp,443:8443/tcp\n"
	         "health_url=http://127.0.0.1:8080/healthz\n"
	         "health_timeout = 120\ntag_timeout=5\nunhealthy_grace = 0\n"
	         "lifecycle_hook = my-launch-hook\nregistry_auth = docker-config\n"
	         "restart = unless-stopped\nnetwork = host\ncontainer_name = web.1\n"
	         "env_file = /etc/asgswap/app.env\nname_tag = img\nversion_tag = ver\r\n",
	         0, NULL);
	assert_string_equal(c->registry, "123456789012.dkr.ecr.eu-west-1.amazonaws.com");
	assert_int_equal(c->n_ports, 3);
	assert_int_equal(c->ports[0].host, 80);
	assert_int_equal(c->ports[0].container, 8080);
	assert_string_equal(c->ports[0].proto, "tcp");
	assert_string_equal(c->ports[1].proto, "udp");
	assert_int_equal(c->ports[2].container, 8443);
	assert_string_equal(c->health_url, "http://127.0.0.1:8080/healthz");
	assert_int_equal(c->health_timeout, 120);
	assert_int_equal(c->tag_timeout, 5);
	assert_int_equal(c->unhealthy_grace, 0);
	assert_string_equal(c->lifecycle_hook, "my-launch-hook");
	assert_int_equal(c->registry_auth, REGISTRY_AUTH_DOCKER_CONFIG);
	assert_string_equal(c->restart, "unless-stopped");
	assert_string_equal(c->network, "host");
	assert_string_equal(c->container_name, "web.1");
	assert_string_equal(c->env_file, "/etc/asgswap/app.env");
	assert_string_equal(c->name_tag, "img");
	assert_string_equal(c->version_tag, "ver");
	agent_config_free(c);
}

static void test_errors_name_the_line(void **state)
{
	(void)state;
	assert_null(load("registry = r.io\ncolour = blue\n", -EINVAL, ":2: unknown key 'colour'"));
	assert_null(load("\n\nports\n", -EINVAL, ":3: expected 'key = value'"));
	assert_null(load("ports = 80\n", -EINVAL,
	                 ":1: bad value for 'ports': expected HOST:CONTAINER[/tcp|/udp], "
	                 "comma-separated"));
	assert_null(load("ports = 0:80\n", -EINVAL, NULL));
	assert_null(load("ports = 80:65536\n", -EINVAL, NULL));
	assert_null(load("ports = 80:80/sctp\n", -EINVAL, NULL));
	assert_null(load("ports = 80:80,\n", -EINVAL, NULL));
	assert_null(load("health_timeout = 0\n", -EINVAL, NULL));
	assert_null(load("health_timeout = -1\n", -EINVAL, NULL));
	assert_null(load("tag_timeout = 10s\n", -EINVAL, NULL));
	assert_null(load("restart = sometimes\n", -EINVAL, NULL));
	assert_null(load("registry_auth = password\n", -EINVAL, NULL));
	assert_null(load("health_url = ftp://x\n", -EINVAL, NULL));
	assert_null(load("health_url = http://x/a\"b\n", -EINVAL, NULL));
	assert_null(load("container_name = ../x\n", -EINVAL, NULL));
	assert_null(load("container_name = a b\n", -EINVAL, NULL));
	assert_null(load("lifecycle_hook = a;b\n", -EINVAL, NULL));
	assert_null(load("docker_socket = relative.sock\n", -EINVAL, NULL));
	assert_null(load("env_file = relative.env\n", -EINVAL, NULL));
	assert_null(load("registry = a b\n", -EINVAL, NULL));
	assert_null(load("name_tag =\n", -EINVAL, NULL));
}

static void test_env_overrides(void **state)
{
	struct agent_config *c;

	(void)state;
	setenv("ASGSWAP_REGISTRY", "127.0.0.1:5000", 1);
	setenv("ASGSWAP_PORTS", "8080:80", 1);
	setenv("ASGSWAP_LIFECYCLE_HOOK", "none", 1);
	setenv("DOCKER_HOST", "unix:///run/docker-alt.sock", 1);
	c = load("registry = r.io\nports = 1:1,2:2\n", 0, NULL);
	assert_string_equal(c->registry, "127.0.0.1:5000");
	assert_int_equal(c->n_ports, 1);
	assert_int_equal(c->ports[0].host, 8080);
	assert_string_equal(c->lifecycle_hook, "none");
	assert_string_equal(c->docker_socket, "/run/docker-alt.sock");
	agent_config_free(c);

	/* An empty override clears an optional value. */
	setenv("ASGSWAP_REGISTRY", "", 1);
	c = load("registry = r.io\n", 0, NULL);
	assert_null(c->registry);
	agent_config_free(c);

	setenv("ASGSWAP_HEALTH_TIMEOUT", "soon", 1);
	assert_null(load("", -EINVAL,
	                 "ASGSWAP_HEALTH_TIMEOUT: bad value: expected a number of seconds (1 to "
	                 "604800)"));
	unsetenv("ASGSWAP_HEALTH_TIMEOUT");

	setenv("DOCKER_HOST", "tcp://127.0.0.1:2375", 1);
	assert_null(load("", -EINVAL, "DOCKER_HOST: only unix:///path is supported"));
	clear_env(NULL);
}

static void test_env_file(void **state)
{
	_cleanup_free_ char *path = NULL, *error = NULL;
	_cleanup_strv_free_ char **env = NULL;

	(void)state;
	path = WRITE_TEMP("# secrets\nDB_PASSWORD=s3cr=t\n\n  MODE=prod\r\nEMPTY=\n");
	assert_int_equal(agent_env_file_read(path, &env, &error), 0);
	unlink(path);
	assert_int_equal(strv_length(env), 3);
	assert_string_equal(env[0], "DB_PASSWORD=s3cr=t");
	assert_string_equal(env[1], "MODE=prod");
	assert_string_equal(env[2], "EMPTY=");
	env = strv_free(env);
	free(path);
	path = WRITE_TEMP("GOOD=1\nnot a var\n");
	assert_int_equal(agent_env_file_read(path, &env, &error), -EINVAL);
	unlink(path);
	assert_non_null(strstr(error, ":2: expected KEY=VALUE"));
	free(error);
	error = NULL;
	assert_int_equal(agent_env_file_read("/nonexistent/app.env", &env, &error), -ENOENT);
}

static void test_container_keys(void **state)
{
	struct agent_config *c;
	const struct agent_container_config *k;

	(void)state;
	c = load("", 0, NULL);
	k = &c->container;
	assert_string_equal(k->log_driver, "journald");
	assert_null(k->log_opts);
	assert_int_equal(k->stop_timeout, 10);
	assert_string_equal(k->stop_signal, "SIGTERM");
	assert_string_equal(k->terminate_hook, "auto");
	assert_int_equal(k->memory, 0);
	assert_null(k->command);
	agent_config_free(c);

	c = load("log_driver = awslogs\n"
	         "log_opts = awslogs-group=/app, awslogs-stream=i-1,awslogs-region=eu-west-1\n"
	         "mounts = /srv/data:/data, /etc/app:/etc/app:ro\n"
	         "memory = 64m\ncpus = 0.5\npids_limit = 100\nuser = 1000:1000\n"
	         "read_only = true\ninit = true\ncap_drop = ALL\ncap_add = NET_BIND_SERVICE,CHOWN\n"
	         "extra_hosts = db:10.0.0.5, v6:::1\nlabels = team=web,tier=front end\n"
	         "command = [\"httpd\", \"-f\", \"-p\", \"8080\", \"$HOME; rm\"]\n"
	         "stop_timeout = 0\nstop_signal = SIGQUIT\nterminate_hook = drain\n",
	         0, NULL);
	k = &c->container;
	assert_string_equal(k->log_driver, "awslogs");
	assert_int_equal(strv_length(k->log_opts), 3);
	assert_string_equal(k->log_opts[0], "awslogs-group=/app");
	assert_string_equal(k->mounts[1], "/etc/app:/etc/app:ro");
	assert_true(k->memory == 64 << 20);
	assert_true(k->nano_cpus == 500000000);
	assert_true(k->pids_limit == 100);
	assert_string_equal(k->user, "1000:1000");
	assert_true(k->read_only);
	assert_true(k->init);
	assert_string_equal(k->cap_drop[0], "ALL");
	assert_string_equal(k->cap_add[1], "CHOWN");
	assert_string_equal(k->extra_hosts[1], "v6:::1");
	assert_string_equal(k->labels[1], "tier=front end");
	assert_int_equal(strv_length(k->command), 5);
	assert_string_equal(k->command[4], "$HOME; rm");
	assert_int_equal(k->stop_timeout, 0);
	assert_string_equal(k->stop_signal, "SIGQUIT");
	assert_string_equal(k->terminate_hook, "drain");
	agent_config_free(c);

	c = load("memory = 1g\ncpus = 2\n", 0, NULL);
	assert_true(c->container.memory == (int64_t)1 << 30);
	assert_true(c->container.nano_cpus == 2000000000);
	agent_config_free(c);

	setenv("ASGSWAP_STOP_SIGNAL", "SIGINT", 1);
	setenv("ASGSWAP_MEMORY", "128M", 1);
	c = load("stop_signal = SIGUSR1\nmemory = 64m\n", 0, NULL);
	assert_string_equal(c->container.stop_signal, "SIGINT");
	assert_true(c->container.memory == 128 << 20);
	agent_config_free(c);
	setenv("ASGSWAP_STOP_TIMEOUT", "forever", 1);
	assert_null(load("", -EINVAL,
	                 "ASGSWAP_STOP_TIMEOUT: bad value: expected a number of seconds (0 to "
	                 "3600)"));
	unsetenv("ASGSWAP_STOP_SIGNAL");
	unsetenv("ASGSWAP_MEMORY");
	unsetenv("ASGSWAP_STOP_TIMEOUT");
}

static void test_container_key_errors(void **state)
{
	static const char *const bad[] = {
		"log_driver =",
		"log_driver = a b",
		"log_opts = max-size",
		"log_opts = a=1,a=2",
		"log_opts = a=1,",
		"mounts = data:/data",
		"mounts = /data",
		"mounts = /a:/b:rw",
		"mounts = /a/../etc:/b",
		"mounts = /a:/..",
		"mounts = /a:/",
		"mounts = /a:b",
		"memory = 64",
		"memory = 5m",
		"memory = 1.5g",
		"memory = 64mb",
		"memory = -1m",
		"memory = 2t",
		"cpus = 0",
		"cpus = .5",
		"cpus = 1.",
		"cpus = 0.0000000001",
		"cpus = 2000",
		"cpus = 1e3",
		"pids_limit = 0",
		"pids_limit = -1",
		"pids_limit = 99999999",
		"user = root;id",
		"user = :1",
		"user = a:",
		"user = -u",
		"user = a:b:c",
		"read_only = yes",
		"init = 1",
		"cap_add = NET RAW",
		"cap_drop = ALL,",
		"extra_hosts = db",
		"extra_hosts = db:10.0.0",
		"extra_hosts = -x:1.2.3.4",
		"extra_hosts = a b:1.2.3.4",
		"labels = team",
		"labels = asgswap.version=9",
		"labels = =x",
		"labels = a=1,a=2",
		"command = httpd -f",
		"command = []",
		"command = [\"a\", 1]",
		"command = {\"a\": 1}",
		"command = [\"a\\u0000b\"]",
		"command = [\"a\"",
		"stop_timeout = 3601",
		"stop_timeout = 1s",
		"stop_signal = TERM",
		"stop_signal = SIGSEGV",
		"stop_signal = 15",
		"terminate_hook =",
		"terminate_hook = a;b",
	};

	(void)state;
	assert_null(load("# x\nstop_signal = KILL\n", -EINVAL,
	                 ":2: bad value for 'stop_signal': expected a signal name: SIGTERM, "
	                 "SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH or SIGKILL"));
	assert_null(load("command = /bin/sh -c 'x'\n", -EINVAL,
	                 ":1: bad value for 'command': expected a JSON array of strings such as "
	                 "[\"httpd\", \"-f\"]"));
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *text = NULL;

		assert_true(asprintf(&text, "%s\n", bad[i]) > 0);
		print_message("%s\n", bad[i]);
		assert_null(load(text, -EINVAL, NULL));
	}
}

static void test_create_body(void **state)
{
	struct agent_config *c;
	struct docker_create spec = {
		.name = "app", .image = "r/app:1", .restart = "always", .network = "none"
	};
	_cleanup_free_ char *body = NULL, *plain = NULL;

	(void)state;
	c = load("memory = 4g\ncpus = 1.25\nlog_opts = tag=web\ncommand = [\"sh\"]\n", 0, NULL);
	agent_container_spec(&c->container, &spec);
	body = docker_create_body(&spec);
	assert_non_null(body);
	assert_non_null(strstr(body, "\"Cmd\":[\"sh\"]"));
	assert_non_null(strstr(body, "\"StopSignal\":\"SIGTERM\",\"StopTimeout\":10"));
	assert_non_null(
	        strstr(body, "\"LogConfig\":{\"Config\":{\"tag\":\"web\"},\"Type\":\"journald\"}"));
	/* Past INT_MAX, still an exact integer. */
	assert_non_null(strstr(body, "\"Memory\":4294967296,"));
	assert_non_null(strstr(body, "\"NanoCpus\":1250000000"));
	assert_null(strstr(body, "PidsLimit"));
	assert_null(strstr(body, "ReadonlyRootfs"));
	agent_config_free(c);
	/* Without the agent's settings, dockerd's defaults: nothing extra in the body. */
	spec = (struct docker_create){
		.name = "app", .image = "r/app:1", .restart = "always", .network = "none"
	};
	plain = docker_create_body(&spec);
	assert_non_null(plain);
	assert_null(strstr(plain, "LogConfig"));
	assert_null(strstr(plain, "Stop"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, clear_env),
		cmocka_unit_test_setup(test_file, clear_env),
		cmocka_unit_test_setup(test_errors_name_the_line, clear_env),
		cmocka_unit_test_setup(test_env_overrides, clear_env),
		cmocka_unit_test_setup(test_env_file, clear_env),
		cmocka_unit_test_setup(test_container_keys, clear_env),
		cmocka_unit_test_setup(test_container_key_errors, clear_env),
		cmocka_unit_test_setup(test_create_body, clear_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
