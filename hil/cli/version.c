/* version.c — `mynahil --version`: what this binary is, in the words
 * every report records it in (runner_versions), one a line. */
#include <stdio.h>

#include "hil/cli/cli.h"
#include "hil/run/runner.h"

int cli_version(int argc, char **argv)
{
	res_run_t run = { 0 };

	if (argc > 1) {
		fprintf(stderr, "mynahil: --version takes no arguments ('%s')\n(mynahil --help for the commands)\n",
			argv[1]);
		return 2;
	}
	runner_versions(&run);
	for (size_t i = 0; i < run.nversions; i++)
		printf("%s %s\n", run.versions[i].key, run.versions[i].value);
	res_run_clear(&run);
	return 0;
}
