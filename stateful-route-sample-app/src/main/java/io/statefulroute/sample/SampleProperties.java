package io.statefulroute.sample;

import java.time.Duration;
import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Settings of the sample, under {@code sample.*}.
 *
 * @param pods how many lobby pods demo mode simulates in this process
 * @param demo the demo load and scenario
 * @param chatOrigins origins (patterns) of pages that may open a pod's lobby chat; the
 * gateway passes the page's origin on to the pod
 */
@ConfigurationProperties("sample")
public record SampleProperties(@DefaultValue("3") int pods, @DefaultValue Demo demo,
        @DefaultValue({ "http://localhost:[*]", "http://127.0.0.1:[*]" }) List<String> chatOrigins) {

    /**
     * Demo mode's load generator and scripted scenario.
     *
     * @param enabled whether players come and go on their own and the scenario runs
     * @param playersPerSecond new players per second
     * @param playTime how long a player stays before leaving
     * @param cycle length of the scripted cycle: drain a pod, undrain it, kill one, restart it
     */
    public record Demo(@DefaultValue("true") boolean enabled, @DefaultValue("3") int playersPerSecond,
            @DefaultValue("30s") Duration playTime, @DefaultValue("60s") Duration cycle) {
    }

}
