/* The dacc subcommands. Each lives in engine/cli/cmd_<name>.c, parses its own
 * flags, prints its own --help, and returns the process exit code
 * (0 ok, 1 runtime error, 2 usage error, 3 interrupted and saved). */
#ifndef DACC_CLI_COMMANDS_H
#define DACC_CLI_COMMANDS_H

typedef struct dacc_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
} dacc_command;

int cmd_info(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_align(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* dacc run's flags: dacc plan accepts every one of them. */
struct flag_command;
extern const struct flag_command run_cmd;

#endif
