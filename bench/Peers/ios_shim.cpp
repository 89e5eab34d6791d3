// One-symbol shim preloaded by bench/Peers/run.sh: GCC 13's libstdc++ (GLIBCXX_3.4.32) exports
// std::ios_base_library_init(), which code compiled against GCC 13's <iostream> references so that the library's
// iostreams get initialised; Debian 12's libstdc++ (3.4.30) lacks it and initialises its streams by itself, so
// an empty definition is enough.
namespace std { void ios_base_library_init() {} }
