# Soak: two processes stream with checksums while the supervisor SIGKILLs and
# restarts either side at random moments; the demo's final line is the
# verdict (sent = received + discarded, 0 duplicated, 0 corrupt, 0 lost) with
# reconnection times. SOAK_KILLS and SOAK_SECONDS scale it.
SOAK_KILLS   ?= 1000
SOAK_SECONDS ?= 120

.PHONY: soak
soak: build
	./$(BUILD)/shmlink_demo --kill-side both --kills $(SOAK_KILLS) --seconds $(SOAK_SECONDS) --quiet
	./$(BUILD)/shmlink_demo --kill-side both --kills $$(( $(SOAK_KILLS) / 4 )) \
		--seconds $$(( $(SOAK_SECONDS) / 4 )) --mode stream --quiet
