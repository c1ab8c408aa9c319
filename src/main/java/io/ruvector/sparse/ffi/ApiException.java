package io.ruvector.sparse.ffi;

/** A failure of a C API call with the status it returns; the message becomes the thread's last error. */
final class ApiException extends RuntimeException {

    private final int status;

    ApiException(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    int status() { return status; }
}
