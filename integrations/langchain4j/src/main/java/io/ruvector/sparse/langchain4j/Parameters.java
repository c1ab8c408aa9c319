package io.ruvector.sparse.langchain4j;

import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;

/** The default request parameters of the chat models: the engine's model name, then what the user set. */
final class Parameters {

    private Parameters() {}

    static ChatRequestParameters defaults(SparseEngine engine, ChatRequestParameters given) {
        ChatRequestParameters base = DefaultChatRequestParameters.builder().modelName(engine.modelName()).build();
        return given == null ? base : base.overrideWith(given);
    }
}
