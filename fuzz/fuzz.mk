# Builds fuzz targets for fuzz/run.sh in one make run, so `make -j` compiles every source of
# every target side by side: each source into one object under OBJDIR (shared by the targets,
# which all take the same flags), rebuilt when it or a header it includes changed (-MMD).
#   make -f fuzz/fuzz.mk OUT=DIR OBJDIR=DIR TARGETS="rtnl nsref" SRCS_rtnl="..." LIBS_rtnl="..."
#        [INCS=-I...] [CXX=clang++]
CXX ?= clang++
SAN := -fsanitize=fuzzer,address,undefined
CXXFLAGS := -std=c++20 -gline-tables-only -O1 -fno-omit-frame-pointer $(SAN) -fno-sanitize-recover=undefined \
  -fsanitize-recover=signed-integer-overflow -Isrc -Ibpf $(INCS)

all: $(foreach t,$(TARGETS),$(OUT)/fuzz_$(t))

define target
$(OUT)/fuzz_$(1): $(patsubst %.cpp,$(OBJDIR)/%.o,$(SRCS_$(1)))
	$$(CXX) $(SAN) -o $$@.tmp $$^ $(LIBS_$(1)) && mv $$@.tmp $$@
endef
$(foreach t,$(TARGETS),$(eval $(call target,$(t))))

$(OBJDIR)/%.o: %.cpp fuzz/fuzz.mk
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -MMD -MP -c $< -o $@

-include $(shell find $(OBJDIR) -name '*.d' 2>/dev/null)
.PHONY: all
