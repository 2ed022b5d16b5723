// monsys-action: verifies an Emergency Action Token and restarts one app. See docs/eat.md.
int main() { return 2; }
