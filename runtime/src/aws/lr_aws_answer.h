/* Reading an AWS answer once its body is complete: success bodies are validated (and JSON parsed with
 * cJSON), error answers give their code and message (JSON __type/message, the x-amzn-ErrorType header,
 * or the XML <Code>/<Message> of the query protocol). */
#ifndef LR_AWS_ANSWER_H
#define LR_AWS_ANSWER_H

#include <stdbool.h>

#include "lr/aws.h"

/* Classifies resp (http_status and body already filled). error_type is the x-amzn-ErrorType header or
 * "". Returns LR_OK, LR_E_AWS_BAD_RESPONSE, LR_E_AWS_BAD_ERROR, LR_E_AWS_THROTTLED or LR_E_AWS_SERVICE,
 * and sets resp->json / error_code / error_message. */
enum lr_status lr_aws_answer_read(bool json_protocol, const char *error_type,
                                  struct lr_aws_response *resp);

#endif
