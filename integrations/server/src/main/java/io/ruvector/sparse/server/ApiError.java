package io.ruvector.sparse.server;

/**
 * A request the server answers with an error, in OpenAI's shape:
 * {@code {"error": {"message", "type", "param", "code"}}}.
 *
 * @see Json#error(ApiError)
 */
final class ApiError extends RuntimeException {

    final int status;
    final String type;
    /** The request field at fault, or null. */
    final String param;
    /** A machine-readable code (OpenAI's, e.g. {@code invalid_api_key}), or null. */
    final String code;

    ApiError(int status, String type, String param, String code, String message) {
        super(message, null, false, false);   // no stack trace: these are answers, not failures of the server
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400 about the field {@code param} (null: the request as a whole). */
    static ApiError badRequest(String param, String message) {
        return new ApiError(400, "invalid_request_error", param, null, message);
    }

    static ApiError contextExceeded(String param, String message) {
        return new ApiError(400, "invalid_request_error", param, "context_length_exceeded", message);
    }

    static ApiError unauthorized(String message) {
        return new ApiError(401, "authentication_error", null, "invalid_api_key", message);
    }

    static ApiError notFound(String message) {
        return new ApiError(404, "not_found_error", null, null, message);
    }

    static ApiError methodNotAllowed(String message) {
        return new ApiError(405, "invalid_request_error", null, null, message);
    }

    static ApiError tooLarge(String message) {
        return new ApiError(413, "invalid_request_error", null, null, message);
    }

    static ApiError unavailable(String message) {
        return new ApiError(503, "unavailable_error", null, null, message);
    }

    static ApiError internal(String message) {
        return new ApiError(500, "server_error", null, null, message);
    }
}
