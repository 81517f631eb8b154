package org.sparkmim.job;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.LinkedHashMap;
import java.util.Map;

/** The one-line JSON summary every command prints last on stdout (read by schedulers and scripts). */
public final class Summary {
    private final Map<String, Object> m = new LinkedHashMap<>();

    public Summary(String command) {
        m.put("command", command);
    }

    public Summary put(String k, Object v) {
        m.put(k, v);
        return this;
    }

    public String json() {
        try {
            return new ObjectMapper().writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public void print() {
        System.out.flush();
        System.out.println(json());
        System.out.flush();
    }
}
