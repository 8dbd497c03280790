/* -f maco: the bare MACO config of every decoded record, one object per line, for MACO consumers
 * (Assemblyline, configextractor-py, Azul). Templates and failed decodes are left out: MACO has no
 * status field, so their placeholder values would read as a real configuration. */
#include "mc_feed.h"

static int maco_input(mc_writer *w, const mc_output_input *in)
{
    for (size_t i = 0; i < in->nrecords; i++) {
        if (!mc_feed_exportable(in->records[i]))
            continue;
        const json_t *config = json_object_get(in->records[i], "config");
        if (json_dumpf(config, w->fp, JSON_COMPACT) != 0 || fputc('\n', w->fp) == EOF ||
            fflush(w->fp) != 0)
            return -1;
    }
    return 0;
}

const mc_writer_ops mc_maco_ops = {
    .name = "maco",
    .help = "bare MACO config objects, one per line",
    .machine = true,
    .input = maco_input,
};
