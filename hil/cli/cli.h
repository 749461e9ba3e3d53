/* cli.h — the `mynahil` command's subcommands that live outside main.c. */
#ifndef CLI_H
#define CLI_H

/* `mynahil serve ...` — parses the command line, opens the links, runs
 * the loop until SIGTERM/SIGINT, closes the links (which saves --state).
 * Returns the exit status. */
int serve_main(int argc, char **argv);

/* `mynahil check ...` (check.c): DOMAIN.md's invariants against a bench;
 * 0 clean, 1 violated, 2 usage. */
int check_main(int argc, char **argv);

#endif
