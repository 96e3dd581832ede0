/* The baseline of the cold-start benchmark: a static program that does nothing, so spawn -> exit
 * measures only fork/exec and process teardown on this machine. */
int main(void)
{
    return 0;
}
