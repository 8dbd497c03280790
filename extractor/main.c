/* memcfg: extract malware configurations from process memory snapshots. See memcfg(1). */
#include "cli.h"

int main(int argc, char **argv)
{
    return mc_cli_main(argc, argv);
}
