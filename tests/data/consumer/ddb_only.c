/* Uses the DynamoDB event model alone (lambda_ddb::lr_ddb): reads an event on stdin and prints one line
 * per record, "<SequenceNumber> <eventName> valid|invalid". No Runtime API, so no libcurl. */
#include <stdio.h>
#include <stdlib.h>

#include "lr/ddb.h"

int main(void)
{
    static char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof(buf), stdin);
    struct ddb_event ev;
    struct ddb_parse_error err;
    if (ddb_event_parse(&ev, buf, len, &err) != LR_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    for (size_t i = 0; i < ev.count; i++) {
        const struct ddb_record *r = &ev.records[i];
        printf("%.*s %s %s\n", (int)r->sequence_number.len, r->sequence_number.ptr,
               ddb_event_name_str(r->event_name), r->valid ? "valid" : "invalid");
    }
    ddb_event_clean_up(&ev);
    return 0;
}
