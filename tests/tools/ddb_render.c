/* Test tool: reads a DynamoDB Streams event on stdin and prints one line per record, its plain JSON
 * rendering (ddb_record_render_plain), or "invalid <status>" for a record the parser rejected.
 * Argument: "number" (default) or "string", the way numbers are written. Exit 1 on a whole-event
 * error (printed on stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lr/ddb.h"

int main(int argc, char **argv)
{
    enum ddb_plain_numbers how = DDB_PLAIN_NUMBERS_NUMBER;
    if (argc > 1 && strcmp(argv[1], "string") == 0)
        how = DDB_PLAIN_NUMBERS_STRING;
    static char in[8 << 20];
    size_t len = fread(in, 1, sizeof(in), stdin);
    struct ddb_reader r;
    struct ddb_parse_error err;
    if (ddb_reader_init(&r, in, len, &err) != LR_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    struct lr_buf out;
    lr_buf_init(&out, (size_t)16 << 20);
    struct ddb_record rec;
    while (ddb_reader_next(&r, &rec)) {
        lr_buf_reset(&out);
        if (!rec.valid)
            printf("invalid %s\n", lr_status_str(rec.error));
        else if (ddb_record_render_plain(&rec, how, &out) != LR_OK)
            printf("too large\n");
        else
            printf("%s\n", out.data);
    }
    lr_buf_clean_up(&out);
    ddb_reader_clean_up(&r);
    return 0;
}
