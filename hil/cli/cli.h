/* cli.h — the `mynahil` command's subcommands that live outside main.c. */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>

/* `mynahil serve ...` — parses the command line, opens the links, runs
 * the loop until SIGTERM/SIGINT, closes the links (which saves --state).
 * Returns the exit status. */
int serve_main(int argc, char **argv);

/* `mynahil check ...` (check.c): the invariants (docs/domain.md#invariants)
 * against a bench; 0 clean, 1 violated, 2 usage. */
int check_main(int argc, char **argv);

/* `mynahil report diff|merge` and `mynahil doctor` (report.c). */
int report_main(int argc, char **argv);
int doctor_main(int argc, char **argv);

/* `mynahil readers` (readers.c): the PC/SC readers and libnfc devices
 * a bench can bind; 0 some found, 1 none, 2 usage. */
int readers_main(int argc, char **argv);
/* `mynahil profile from-card` (fromcard.c, docs/real-card.md): a card's
 * ATR, token and certificate EF layout as profile fields; 0, 1, 2 usage. */
int profile_main(int argc, char **argv);
/* `mynahil --version` (version.c): mynahil's version, the git commit and
 * the libraries' versions, as the reports record them. */
int cli_version(int argc, char **argv);

/* `mynahil trace import|check|export|show` (trace.c, docs/traces.md). */
int trace_main(int argc, char **argv);

/* `mynahil incident pack|replay|minimise` (incident.c, docs/incidents.md). */
int incident_main(int argc, char **argv);

struct binding;
/* A bench file's bindings (main.c): the roles b[0..*n) does not bind yet
 * are added, in role order; b holds at least 8.  -1 with err. */
int cli_load_bench(const char *file, struct binding *b, size_t *n, char *err, size_t errlen);

#endif
